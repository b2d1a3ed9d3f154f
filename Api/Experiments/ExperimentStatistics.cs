using MathNet.Numerics.Distributions;
using Navigator.Grains.Experiments;

namespace Navigator.Api.Experiments;

/// <summary>A metric's mean (or rate) with its 95% confidence interval; null when there is no sample.</summary>
public sealed record MetricEstimate(long N, double? Mean, double? Low, double? High);

/// <summary>A test of a variant against control: the statistic, its degrees of freedom (Welch), the two-sided p-value and the difference (variant - control).</summary>
public sealed record Comparison(string Test, double Statistic, double? DegreesOfFreedom, double PValue, double Difference);

/// <summary>Chi-square goodness of fit of the requests per variant against the variants' shares of the covered buckets.</summary>
public sealed record SampleRatioCheck(double ChiSquare, int DegreesOfFreedom, double PValue, bool Mismatch);

public sealed record VariantResults(
    string Id,
    bool IsControl,
    long Requests,
    double ExpectedShare,
    double ObservedShare,
    MetricEstimate ErrorRate,
    MetricEstimate LatencyMs,
    double? LatencyP95Ms,
    MetricEstimate CostUsd,
    MetricEstimate QualityScore,
    MetricEstimate ThumbsUpRate,
    MetricEstimate JudgeScore,
    long CacheHits,
    long InputTokens,
    long OutputTokens,
    Comparison? ThumbsUpVsControl,
    Comparison? ErrorRateVsControl,
    Comparison? LatencyVsControl,
    Comparison? CostVsControl,
    Comparison? QualityVsControl,
    Comparison? JudgeVsControl,
    IReadOnlyList<string> GuardrailBreaches,
    string? Verdict);

public sealed record ExperimentResultsView(
    string Id,
    string Status,
    string PrimaryMetric,
    string Control,
    IReadOnlyList<VariantResults> Variants,
    SampleRatioCheck? SampleRatio,
    string Verdict);

/// <summary>
/// The statistics of an experiment's results, from the per-variant sums its grain keeps. The first variant
/// is control. Distributions are MathNet.Numerics': Student's t for means (and Welch's test), the normal for
/// proportions (Wilson intervals and the two-proportion z-test) and chi-square for the sample-ratio check.
/// </summary>
public static class ExperimentStatistics
{
    public const double Alpha = 0.05;

    /// <summary>A sample-ratio mismatch is flagged below this p-value.</summary>
    public const double SampleRatioAlpha = 0.001;

    public const string InsufficientData = "insufficient data";
    public const string NoDifference = "no difference";
    public const string VariantBetter = "variant better";
    public const string VariantWorse = "variant worse";

    public static ExperimentResultsView Analyze(ExperimentDefinition definition, IReadOnlyDictionary<string, VariantTally> tallies)
    {
        var control = definition.Variants[0];
        var tallyOf = definition.Variants.ToDictionary(v => v.Id, v => tallies.GetValueOrDefault(v.Id) ?? new VariantTally());
        var covered = definition.Variants.Sum(v => v.Buckets.Sum(r => r.Count));
        var totalRequests = tallyOf.Values.Sum(t => t.Requests);
        var c = tallyOf[control.Id];
        var results = definition.Variants.Select(v =>
        {
            var t = tallyOf[v.Id];
            var isControl = v.Id == control.Id;
            var breaches = Breaches(definition, t);
            var row = new VariantResults(
                v.Id, isControl, t.Requests,
                covered == 0 ? 0 : v.Buckets.Sum(r => r.Count) / (double)covered,
                totalRequests == 0 ? 0 : t.Requests / (double)totalRequests,
                Proportion(t.Errors, t.Requests),
                Mean(t.Answered, t.LatencySum, t.LatencySumSquares),
                t.LatencyP95(),
                Mean(t.Answered, t.CostSum, t.CostSumSquares),
                Mean(t.QualityCount, t.QualitySum, t.QualitySumSquares),
                Proportion(t.ThumbsUp, t.ThumbsUp + t.ThumbsDown),
                Mean(t.JudgeCount, t.JudgeSum, t.JudgeSumSquares),
                t.CacheHits, t.InputTokens, t.OutputTokens,
                isControl ? null : TwoProportionZ(t.ThumbsUp, t.ThumbsUp + t.ThumbsDown, c.ThumbsUp, c.ThumbsUp + c.ThumbsDown),
                isControl ? null : TwoProportionZ(t.Errors, t.Requests, c.Errors, c.Requests),
                isControl ? null : Welch(t.Answered, t.LatencySum, t.LatencySumSquares, c.Answered, c.LatencySum, c.LatencySumSquares),
                isControl ? null : Welch(t.Answered, t.CostSum, t.CostSumSquares, c.Answered, c.CostSum, c.CostSumSquares),
                isControl ? null : Welch(t.QualityCount, t.QualitySum, t.QualitySumSquares, c.QualityCount, c.QualitySum, c.QualitySumSquares),
                isControl ? null : Welch(t.JudgeCount, t.JudgeSum, t.JudgeSumSquares, c.JudgeCount, c.JudgeSum, c.JudgeSumSquares),
                breaches,
                null);
            return row;
        }).ToList();

        var insufficient = definition.Variants.Any(v => SampleOf(definition.PrimaryMetric, tallyOf[v.Id]) < definition.MinimumSamplePerVariant);
        results = [.. results.Select(r => r.IsControl ? r : r with { Verdict = insufficient ? InsufficientData : VerdictOf(definition.PrimaryMetric, r) })];
        var verdicts = results.Where(r => !r.IsControl).Select(r => r.Verdict).ToList();
        var verdict = insufficient ? InsufficientData
            : verdicts.Contains(VariantWorse) ? VariantWorse
            : verdicts.Contains(VariantBetter) ? VariantBetter
            : NoDifference;
        return new ExperimentResultsView(definition.Id, definition.Status, definition.PrimaryMetric, control.Id, results,
            SampleRatio([.. results.Select(r => r.Requests)], [.. results.Select(r => r.ExpectedShare)]), verdict);
    }

    /// <summary>Mean and t-based 95% interval from a count, a sum and a sum of squares.</summary>
    public static MetricEstimate Mean(long n, double sum, double sumSquares)
    {
        if (n == 0)
        {
            return new MetricEstimate(0, null, null, null);
        }

        var mean = sum / n;
        if (n == 1)
        {
            return new MetricEstimate(1, mean, null, null);
        }

        var half = StudentT.InvCDF(0, 1, n - 1, 1 - Alpha / 2) * Math.Sqrt(Variance(n, sum, sumSquares) / n);
        return new MetricEstimate(n, mean, mean - half, mean + half);
    }

    /// <summary>A rate with its Wilson score 95% interval.</summary>
    public static MetricEstimate Proportion(long successes, long n)
    {
        if (n == 0)
        {
            return new MetricEstimate(0, null, null, null);
        }

        var p = successes / (double)n;
        var z = Normal.InvCDF(0, 1, 1 - Alpha / 2);
        var z2n = z * z / n;
        var centre = (p + z2n / 2) / (1 + z2n);
        var half = z * Math.Sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n);
        return new MetricEstimate(n, p, centre - half, centre + half);
    }

    /// <summary>Two-proportion z-test with the pooled rate (variant against control), two-sided.</summary>
    public static Comparison? TwoProportionZ(long x1, long n1, long x2, long n2)
    {
        if (n1 == 0 || n2 == 0)
        {
            return null;
        }

        var p1 = x1 / (double)n1;
        var p2 = x2 / (double)n2;
        var pooled = (x1 + x2) / (double)(n1 + n2);
        var se = Math.Sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));
        if (se == 0)
        {
            return new Comparison("two-proportion z", 0, null, 1, p1 - p2);
        }

        var z = (p1 - p2) / se;
        return new Comparison("two-proportion z", z, null, 2 * (1 - Normal.CDF(0, 1, Math.Abs(z))), p1 - p2);
    }

    /// <summary>Welch's unequal-variances t-test (variant against control), two-sided.</summary>
    public static Comparison? Welch(long n1, double sum1, double sumSquares1, long n2, double sum2, double sumSquares2)
    {
        if (n1 < 2 || n2 < 2)
        {
            return null;
        }

        var (m1, m2) = (sum1 / n1, sum2 / n2);
        var (a, b) = (Variance(n1, sum1, sumSquares1) / n1, Variance(n2, sum2, sumSquares2) / n2);
        if (a + b == 0)
        {
            return new Comparison("welch t", 0, null, m1 == m2 ? 1 : 0, m1 - m2);
        }

        var t = (m1 - m2) / Math.Sqrt(a + b);
        var df = (a + b) * (a + b) / (a * a / (n1 - 1) + b * b / (n2 - 1));
        return new Comparison("welch t", t, df, 2 * (1 - StudentT.CDF(0, 1, df, Math.Abs(t))), m1 - m2);
    }

    /// <summary>Chi-square goodness of fit of observed counts against expected shares; null without traffic.</summary>
    public static SampleRatioCheck? SampleRatio(IReadOnlyList<long> observed, IReadOnlyList<double> expectedShares)
    {
        var total = observed.Sum();
        var cells = observed.Zip(expectedShares).Where(c => c.Second > 0).ToList();
        if (total == 0 || cells.Count < 2)
        {
            return null;
        }

        var share = cells.Sum(c => c.Second);
        var chi = cells.Sum(c =>
        {
            var expected = total * c.Second / share;
            return (c.First - expected) * (c.First - expected) / expected;
        });
        var df = cells.Count - 1;
        var p = 1 - ChiSquared.CDF(df, chi);
        return new SampleRatioCheck(chi, df, p, p < SampleRatioAlpha);
    }

    private static double Variance(long n, double sum, double sumSquares) => Math.Max(0, (sumSquares - sum * sum / n) / (n - 1));

    private static long SampleOf(string metric, VariantTally t) => metric switch
    {
        "thumbs_up_rate" => t.ThumbsUp + t.ThumbsDown,
        "quality_score" => t.QualityCount,
        "judge_score" => t.JudgeCount,
        "error_rate" => t.Requests,
        _ => t.Answered,
    };

    private static string VerdictOf(string metric, VariantResults r)
    {
        if (r.GuardrailBreaches.Count > 0)
        {
            return VariantWorse;
        }

        var (comparison, higherIsBetter) = metric switch
        {
            "thumbs_up_rate" => (r.ThumbsUpVsControl, true),
            "quality_score" => (r.QualityVsControl, true),
            "judge_score" => (r.JudgeVsControl, true),
            "error_rate" => (r.ErrorRateVsControl, false),
            "latency_ms" => (r.LatencyVsControl, false),
            _ => (r.CostVsControl, false),
        };
        if (comparison is null || comparison.PValue >= Alpha || comparison.Difference == 0)
        {
            return NoDifference;
        }

        return comparison.Difference > 0 == higherIsBetter ? VariantBetter : VariantWorse;
    }

    private static List<string> Breaches(ExperimentDefinition definition, VariantTally t)
    {
        var breaches = new List<string>();
        foreach (var (metric, limit) in definition.Guardrails)
        {
            var (value, breached) = metric switch
            {
                "error_rate" => (t.Requests == 0 ? (double?)null : t.Errors / (double)t.Requests, (Func<double, bool>)(v => v > limit)),
                "p95_latency_ms" => (t.LatencyP95(), v => v > limit),
                "cost_per_request_usd" => (t.Answered == 0 ? null : t.CostSum / t.Answered, v => v > limit),
                "quality_score" => (t.QualityCount == 0 ? null : t.QualitySum / t.QualityCount, v => v < limit),
                _ => ((double?)null, _ => false),
            };
            if (value is { } v && breached(v))
            {
                breaches.Add($"{metric} {v:0.######} beyond its limit {limit:0.######}");
            }
        }

        return breaches;
    }
}
