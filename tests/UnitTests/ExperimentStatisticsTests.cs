using Navigator.Api.Experiments;
using Navigator.Grains.Experiments;

namespace Navigator.UnitTests;

/// <summary>
/// The results' statistics against reference values computed independently, to 1e-6: with mpmath at 40 digits
/// (Student's t CDF through the regularized incomplete beta, the normal through erfinv, chi-square through the
/// regularized lower gamma), not with MathNet.
/// </summary>
public sealed class ExperimentStatisticsTests
{
    private const double Tolerance = 1e-6;

    private static readonly double[] A = [12.0, 15.5, 9.8, 11.2, 14.1, 10.0, 13.3, 12.7, 8.9, 16.4];
    private static readonly double[] B = [10.1, 11.0, 9.5, 12.2, 10.8, 9.9, 11.5, 10.4];

    [Fact]
    public void A_mean_has_its_t_interval()
    {
        var estimate = ExperimentStatistics.Mean(A.Length, A.Sum(), A.Sum(x => x * x));

        Assert.Equal(12.39, estimate.Mean!.Value, Tolerance);
        Assert.Equal(10.609270522063089, estimate.Low!.Value, Tolerance);
        Assert.Equal(14.170729477936911, estimate.High!.Value, Tolerance);
    }

    [Fact]
    public void A_rate_has_its_wilson_interval()
    {
        var estimate = ExperimentStatistics.Proportion(45, 120);

        Assert.Equal(0.375, estimate.Mean!.Value, Tolerance);
        Assert.Equal(0.29352429786446800, estimate.Low!.Value, Tolerance);
        Assert.Equal(0.46423049374020787, estimate.High!.Value, Tolerance);
    }

    [Fact]
    public void The_two_proportion_z_test_matches()
    {
        var test = ExperimentStatistics.TwoProportionZ(45, 120, 30, 115)!;

        Assert.Equal(1.8762224275991605, test.Statistic, Tolerance);
        Assert.Equal(0.060624743671160262, test.PValue, Tolerance);
        Assert.Equal(45 / 120.0 - 30 / 115.0, test.Difference, Tolerance);
    }

    [Fact]
    public void Welchs_t_test_matches_with_its_degrees_of_freedom()
    {
        var test = ExperimentStatistics.Welch(A.Length, A.Sum(), A.Sum(x => x * x), B.Length, B.Sum(), B.Sum(x => x * x))!;

        Assert.Equal(2.0237658430078692, test.Statistic, Tolerance);
        Assert.Equal(11.707857249225477, test.DegreesOfFreedom!.Value, Tolerance);
        Assert.Equal(0.066430702114492144, test.PValue, Tolerance);
    }

    [Theory]
    [InlineData(new long[] { 5200, 4800 }, new[] { 0.5, 0.5 }, 16.0, 0.000063342483666239843, true)]
    [InlineData(new long[] { 3000, 3100, 3900 }, new[] { 0.3, 0.3, 0.4 }, 5.8333333333333333, 0.054113766222821599, false)]
    [InlineData(new long[] { 5030, 4970 }, new[] { 0.5, 0.5 }, 0.36, 0.54850623550014716, false)]
    public void The_sample_ratio_check_matches_and_flags_a_skewed_split(long[] observed, double[] shares, double chi, double p, bool mismatch)
    {
        var check = ExperimentStatistics.SampleRatio(observed, shares)!;

        Assert.Equal(chi, check.ChiSquare, Tolerance);
        Assert.Equal(p, check.PValue, Tolerance);
        Assert.Equal(observed.Length - 1, check.DegreesOfFreedom);
        Assert.Equal(mismatch, check.Mismatch);
    }

    [Fact]
    public void An_assignment_skewed_on_purpose_is_flagged_as_a_sample_ratio_mismatch()
    {
        // 50/50 buckets, but 10% of the treatment's requests were lost (as when one variant's errors are not counted).
        var definition = Running(minimumSample: 1, ("control", 50), ("treatment", 50));
        var tallies = Tallies(definition, Enumerable.Range(0, 20_000).Select(i => $"srm-{i}"), (variant, i) => variant == "treatment" && i % 10 == 0 ? null : 100.0);

        var results = ExperimentStatistics.Analyze(definition, tallies);

        Assert.True(results.SampleRatio!.Mismatch, $"p = {results.SampleRatio.PValue}");
        var fair = ExperimentStatistics.Analyze(definition, Tallies(definition, Enumerable.Range(0, 20_000).Select(i => $"srm-{i}"), (_, _) => 100.0));
        Assert.False(fair.SampleRatio!.Mismatch, $"p = {fair.SampleRatio.PValue}");
    }

    [Fact]
    public void The_verdict_waits_for_the_minimum_sample_then_follows_the_primary_metric()
    {
        var definition = Running(minimumSample: 100, ("control", 50), ("treatment", 50)) with { PrimaryMetric = "thumbs_up_rate" };
        var few = new Dictionary<string, VariantTally> { ["control"] = Feedback(40, 20), ["treatment"] = Feedback(55, 5) };
        Assert.Equal(ExperimentStatistics.InsufficientData, ExperimentStatistics.Analyze(definition, few).Verdict);

        var better = new Dictionary<string, VariantTally> { ["control"] = Feedback(300, 200), ["treatment"] = Feedback(380, 120) };
        var results = ExperimentStatistics.Analyze(definition, better);
        Assert.Equal(ExperimentStatistics.VariantBetter, results.Verdict);
        Assert.Equal(ExperimentStatistics.VariantBetter, results.Variants[1].Verdict);
        Assert.Null(results.Variants[0].Verdict);

        var worse = new Dictionary<string, VariantTally> { ["control"] = Feedback(380, 120), ["treatment"] = Feedback(300, 200) };
        Assert.Equal(ExperimentStatistics.VariantWorse, ExperimentStatistics.Analyze(definition, worse).Verdict);

        var same = new Dictionary<string, VariantTally> { ["control"] = Feedback(300, 200), ["treatment"] = Feedback(305, 195) };
        Assert.Equal(ExperimentStatistics.NoDifference, ExperimentStatistics.Analyze(definition, same).Verdict);
    }

    [Fact]
    public void A_breached_guardrail_makes_the_variant_worse()
    {
        var definition = Running(minimumSample: 10, ("control", 50), ("treatment", 50)) with
        {
            PrimaryMetric = "thumbs_up_rate",
            Guardrails = new Dictionary<string, double> { ["error_rate"] = 0.05, ["p95_latency_ms"] = 1000 },
        };
        var control = Feedback(300, 200);
        var treatment = Feedback(380, 120); // better on the primary metric...
        for (var i = 0; i < 100; i++)
        {
            control.AddRequest(false, false, 200, 100, 50, 0.01);
            treatment.AddRequest(i < 10, false, 1800, 100, 50, 0.01); // ...but 10% errors and a slow p95
        }

        var results = ExperimentStatistics.Analyze(definition, new Dictionary<string, VariantTally> { ["control"] = control, ["treatment"] = treatment });

        Assert.Equal(ExperimentStatistics.VariantWorse, results.Verdict);
        Assert.Equal(2, results.Variants[1].GuardrailBreaches.Count);
        Assert.Empty(results.Variants[0].GuardrailBreaches);
    }

    [Fact]
    public void The_p95_comes_from_the_histogram()
    {
        var tally = new VariantTally();
        for (var i = 0; i < 100; i++)
        {
            tally.AddRequest(false, false, i < 90 ? 80 : 600, 0, 0, 0);
        }

        // 90 in (50, 100], 10 in (500, 750]: the 95th of 100 is halfway through the (500, 750] bucket.
        Assert.Equal(625, tally.LatencyP95()!.Value, Tolerance);
        Assert.Null(new VariantTally().LatencyP95());
    }

    private static VariantTally Feedback(long up, long down)
    {
        var tally = new VariantTally();
        tally.AddFeedback(up, down);
        return tally;
    }

    private static ExperimentDefinition Running(int minimumSample, params (string Id, int Weight)[] variants) =>
        new("exp", ExperimentDefinition.Running, "stats", BucketAllocator.Allocate([.. variants.Select(v => new ExperimentVariant(v.Id, v.Weight, null))], 1.0))
        {
            MinimumSamplePerVariant = minimumSample,
        };

    /// <summary>Sends each user's request through assignment; <paramref name="latency"/> null drops the request (never counted).</summary>
    private static Dictionary<string, VariantTally> Tallies(ExperimentDefinition definition, IEnumerable<string> users, Func<string, int, double?> latency)
    {
        var tallies = definition.Variants.ToDictionary(v => v.Id, _ => new VariantTally());
        var i = 0;
        foreach (var user in users)
        {
            var variant = definition.Assign(user).VariantId!;
            if (latency(variant, i++) is { } ms)
            {
                tallies[variant].AddRequest(false, false, ms, 100, 50, 0.001);
            }
        }

        return tallies;
    }
}
