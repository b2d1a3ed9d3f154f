using Navigator.Grains.Stats;

namespace Navigator.Grains.Experiments;

/// <summary>
/// What one variant's requests did, as sums that merge by addition: counts, sums and sums of squares (for
/// means, variances and Welch's t-test), and a latency histogram (for the p95). Its size is fixed, so the
/// experiment's state grows with its variants, never with its traffic.
/// </summary>
[GenerateSerializer, Alias("Navigator.VariantTally")]
public sealed class VariantTally
{
    /// <summary>Upper bounds (ms) of the latency histogram's buckets; the last bucket is everything above.</summary>
    public static readonly double[] LatencyBounds = [50, 100, 150, 200, 300, 400, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000];

    [Id(0)] public long Requests { get; set; }
    [Id(1)] public long Errors { get; set; }
    [Id(2)] public long CacheHits { get; set; }
    [Id(3)] public double LatencySum { get; set; }
    [Id(4)] public double LatencySumSquares { get; set; }
    [Id(5)] public long[] LatencyBuckets { get; set; } = new long[LatencyBounds.Length + 1];
    [Id(6)] public long InputTokens { get; set; }
    [Id(7)] public long OutputTokens { get; set; }
    [Id(8)] public double CostSum { get; set; }
    [Id(9)] public double CostSumSquares { get; set; }
    [Id(10)] public long QualityCount { get; set; }
    [Id(11)] public double QualitySum { get; set; }
    [Id(12)] public double QualitySumSquares { get; set; }
    [Id(13)] public long ThumbsUp { get; set; }
    [Id(14)] public long ThumbsDown { get; set; }
    [Id(15)] public long JudgeCount { get; set; }
    [Id(16)] public double JudgeSum { get; set; }
    [Id(17)] public double JudgeSumSquares { get; set; }

    public bool IsEmpty => Requests == 0 && QualityCount == 0 && ThumbsUp == 0 && ThumbsDown == 0 && JudgeCount == 0;

    /// <summary>Counts one request: its latency and cost are counted for answered requests only.</summary>
    public void AddRequest(bool error, bool cached, double latencyMs, long inputTokens, long outputTokens, double costUsd)
    {
        Requests++;
        if (error)
        {
            Errors++;
            return;
        }

        CacheHits += cached ? 1 : 0;
        LatencySum += latencyMs;
        LatencySumSquares += latencyMs * latencyMs;
        LatencyHistogram.Add(LatencyBounds, LatencyBuckets, latencyMs);
        InputTokens += inputTokens;
        OutputTokens += outputTokens;
        CostSum += costUsd;
        CostSumSquares += costUsd * costUsd;
    }

    public void AddQuality(double score)
    {
        QualityCount++;
        QualitySum += score;
        QualitySumSquares += score * score;
    }

    /// <summary>An LLM judge's score of one answer, in [0, 1].</summary>
    public void AddJudge(double score)
    {
        JudgeCount++;
        JudgeSum += score;
        JudgeSumSquares += score * score;
    }

    /// <summary>A rating, or a change of rating (-1 on the old one, +1 on the new one).</summary>
    public void AddFeedback(long up, long down)
    {
        ThumbsUp += up;
        ThumbsDown += down;
    }

    /// <summary>Answered requests: the sample of latency and cost.</summary>
    public long Answered => Requests - Errors;

    public void Merge(VariantTally other)
    {
        Requests += other.Requests;
        Errors += other.Errors;
        CacheHits += other.CacheHits;
        LatencySum += other.LatencySum;
        LatencySumSquares += other.LatencySumSquares;
        LatencyHistogram.Merge(LatencyBuckets, other.LatencyBuckets);
        InputTokens += other.InputTokens;
        OutputTokens += other.OutputTokens;
        CostSum += other.CostSum;
        CostSumSquares += other.CostSumSquares;
        QualityCount += other.QualityCount;
        QualitySum += other.QualitySum;
        QualitySumSquares += other.QualitySumSquares;
        ThumbsUp += other.ThumbsUp;
        ThumbsDown += other.ThumbsDown;
        JudgeCount += other.JudgeCount;
        JudgeSum += other.JudgeSum;
        JudgeSumSquares += other.JudgeSumSquares;
    }

    /// <summary>The p95 latency from the histogram, interpolated linearly inside its bucket (the last bucket reports its lower bound).</summary>
    public double? LatencyP95() => LatencyHistogram.Percentile(LatencyBounds, LatencyBuckets, 0.95);
}
