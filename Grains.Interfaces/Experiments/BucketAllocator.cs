namespace Navigator.Grains.Experiments;

/// <summary>A half-open range of assignment buckets, [<see cref="Start"/>, <see cref="End"/>).</summary>
[GenerateSerializer, Immutable, Alias("Navigator.BucketRange")]
public sealed record BucketRange([property: Id(0)] int Start, [property: Id(1)] int End)
{
    public int Count => End - Start;
}

/// <summary>
/// Hands the experiment's buckets to its variants so that no user ever moves. A variant keeps every
/// bucket it owns until the experiment stops. When coverage rises or the weights change, each variant's
/// target is its weight's share of the covered buckets, and a variant below its target gets the lowest
/// unassigned buckets it lacks; a variant above its target keeps its users (so after a re-weighting the
/// experiment may cover a little more than its coverage, and the split reaches the new weights as
/// coverage grows). Users in unassigned buckets are outside the experiment.
/// </summary>
public static class BucketAllocator
{
    /// <summary>The variants with their buckets after covering <paramref name="coverage"/> of all buckets at their weights.</summary>
    public static IReadOnlyList<ExperimentVariant> Allocate(IReadOnlyList<ExperimentVariant> variants, double coverage)
    {
        var covered = (int)Math.Round(Math.Clamp(coverage, 0, 1) * VariantAssigner.Buckets);
        var totalWeight = variants.Sum(v => (long)Math.Max(0, v.Weight));
        var owned = new bool[VariantAssigner.Buckets];
        foreach (var range in variants.SelectMany(v => v.Buckets))
        {
            Array.Fill(owned, true, range.Start, range.Count);
        }

        var targets = Targets(variants, covered, totalWeight);
        var next = 0;
        var result = new List<ExperimentVariant>(variants.Count);
        for (var i = 0; i < variants.Count; i++)
        {
            var variant = variants[i];
            var lacking = targets[i] - variant.Buckets.Sum(r => r.Count);
            var ranges = variant.Buckets.ToList();
            while (lacking > 0 && next < VariantAssigner.Buckets)
            {
                if (owned[next])
                {
                    next++;
                    continue;
                }

                var start = next;
                while (next < VariantAssigner.Buckets && !owned[next] && next - start < lacking)
                {
                    owned[next++] = true;
                }

                ranges.Add(new BucketRange(start, next));
                lacking -= next - start;
            }

            result.Add(variant with { Buckets = Merge(ranges) });
        }

        return result;
    }

    /// <summary>Each variant's share of <paramref name="covered"/> buckets by weight; the remainder goes to the largest fractions.</summary>
    private static int[] Targets(IReadOnlyList<ExperimentVariant> variants, int covered, long totalWeight)
    {
        var targets = new int[variants.Count];
        if (totalWeight <= 0)
        {
            return targets;
        }

        var fractions = new List<(double Fraction, int Index)>();
        var given = 0;
        for (var i = 0; i < variants.Count; i++)
        {
            var exact = (double)covered * Math.Max(0, variants[i].Weight) / totalWeight;
            targets[i] = (int)Math.Floor(exact);
            given += targets[i];
            fractions.Add((exact - targets[i], i));
        }

        foreach (var (_, index) in fractions.OrderByDescending(f => f.Fraction).ThenBy(f => f.Index).Take(covered - given))
        {
            targets[index]++;
        }

        return targets;
    }

    private static List<BucketRange> Merge(List<BucketRange> ranges)
    {
        var merged = new List<BucketRange>();
        foreach (var range in ranges.OrderBy(r => r.Start))
        {
            if (merged.Count > 0 && merged[^1].End == range.Start)
            {
                merged[^1] = merged[^1] with { End = range.End };
            }
            else
            {
                merged.Add(range);
            }
        }

        return merged;
    }
}
