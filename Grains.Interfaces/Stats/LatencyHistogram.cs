namespace Navigator.Grains.Stats;

/// <summary>
/// Percentiles from a fixed-bucket latency histogram (counts per upper bound, the last bucket holding
/// everything above). Written by hand, not HdrHistogram, because the buckets must be plain arrays that
/// merge by addition inside persisted grain state, and their size must not depend on traffic.
/// </summary>
public static class LatencyHistogram
{
    /// <summary>Counts <paramref name="latencyMs"/> in the bucket of the first bound it does not exceed.</summary>
    public static void Add(double[] bounds, long[] buckets, double latencyMs)
    {
        var bucket = Array.FindIndex(bounds, bound => latencyMs <= bound);
        buckets[bucket < 0 ? bounds.Length : bucket]++;
    }

    public static void Merge(long[] into, long[] other)
    {
        for (var i = 0; i < into.Length && i < other.Length; i++)
        {
            into[i] += other[i];
        }
    }

    /// <summary>The <paramref name="quantile"/> (0–1), interpolated linearly inside its bucket; the last bucket reports its lower bound; null when empty.</summary>
    public static double? Percentile(double[] bounds, long[] buckets, double quantile)
    {
        var total = buckets.Sum();
        if (total == 0)
        {
            return null;
        }

        var rank = quantile * total;
        long cumulative = 0;
        for (var i = 0; i < buckets.Length && i < bounds.Length; i++)
        {
            if (buckets[i] > 0 && cumulative + buckets[i] >= rank)
            {
                var lower = i == 0 ? 0 : bounds[i - 1];
                return lower + (bounds[i] - lower) * Math.Max(0, rank - cumulative) / buckets[i];
            }

            cumulative += buckets[i];
        }

        return bounds[^1];
    }
}
