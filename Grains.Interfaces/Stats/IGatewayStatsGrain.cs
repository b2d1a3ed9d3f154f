namespace Navigator.Grains.Stats;

/// <summary>
/// The gateway's request statistics for one UTC hour (key: <see cref="StatsSlot.HourKey"/>), per minute and provider,
/// summed over every API replica. Replicas send their figures in batches, one call per hour per second at
/// most, never one per request; a batch's sequence number makes a retried send count once.
/// </summary>
[Alias("Navigator.IGatewayStatsGrain")]
public interface IGatewayStatsGrain : IGrainWithStringKey
{
    /// <summary>
    /// Adds a replica's figures. A batch whose sequence is not above the last one stored for that replica is
    /// acknowledged without counting it again. Throws when storage refuses the write; nothing is counted then.
    /// </summary>
    [Alias("Record")]
    Task RecordAsync(StatsBatch batch);

    /// <summary>Each provider's figures summed over the minutes at or after <paramref name="since"/>, and the replicas that reported this hour.</summary>
    [Alias("Query"), ReadOnly]
    Task<StatsView> QueryAsync(DateTimeOffset since);

    /// <summary>Deletes this hour's stored figures (retention: each hour's grain forgets the hour <see cref="StatsSlot.Retention"/> before it). One-way.</summary>
    [Alias("Forget"), OneWay]
    Task ForgetAsync();
}

/// <summary>One minute of one provider's requests (<c>none</c> for requests refused before a provider was chosen).</summary>
[GenerateSerializer, Immutable, Alias("Navigator.StatsSlot")]
public readonly record struct StatsSlot([property: Id(0)] DateTime Minute, [property: Id(1)] string Provider)
{
    public const string NoProvider = "none";

    /// <summary>How long an hour's figures are kept: one day more than <c>GET /admin/stats</c> can ask for.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(8);

    public static StatsSlot Of(DateTimeOffset at, string? provider)
    {
        var utc = at.UtcDateTime;
        return new StatsSlot(new DateTime(utc.Year, utc.Month, utc.Day, utc.Hour, utc.Minute, 0, DateTimeKind.Utc), provider ?? NoProvider);
    }

    /// <summary>The key of the grain that holds this slot: its UTC hour.</summary>
    public string Hour => HourKey(Minute);

    /// <summary>The grain key of the UTC hour that holds <paramref name="at"/>: <c>yyyy-MM-ddTHH</c>.</summary>
    public static string HourKey(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>One replica's figures since its previous batch to this hour's grain.</summary>
[GenerateSerializer, Alias("Navigator.StatsBatch")]
public sealed record StatsBatch(
    [property: Id(0)] string ReplicaId,
    [property: Id(1)] long Sequence,
    [property: Id(2)] IReadOnlyDictionary<StatsSlot, StatsFigures> Slots);

[GenerateSerializer, Alias("Navigator.StatsView")]
public sealed record StatsView(
    [property: Id(0)] IReadOnlyDictionary<string, StatsFigures> Providers,
    [property: Id(1)] IReadOnlyList<string> Replicas);

/// <summary>
/// What some requests did, as sums that merge by addition: requests by outcome, a latency histogram of the
/// answered ones, tokens, cost, cache hits and failovers. Its size is fixed by the outcome labels and the
/// histogram's buckets, never by traffic.
/// </summary>
[GenerateSerializer, Alias("Navigator.StatsFigures")]
public sealed class StatsFigures
{
    /// <summary>Upper bounds (ms) of the latency buckets; the last bucket is everything above.</summary>
    public static readonly double[] LatencyBounds =
        [2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 10000];

    [Id(0)] public long Requests { get; set; }

    /// <summary>Requests by outcome label (success, no_provider, budget_exhausted, ...).</summary>
    [Id(1)] public Dictionary<string, long> Outcomes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Latency of the answered (successful) requests.</summary>
    [Id(2)] public long[] LatencyBuckets { get; set; } = new long[LatencyBounds.Length + 1];

    [Id(3)] public long InputTokens { get; set; }
    [Id(4)] public long OutputTokens { get; set; }
    [Id(5)] public decimal CostUsd { get; set; }
    [Id(6)] public long CacheHits { get; set; }
    [Id(7)] public long Failovers { get; set; }

    public long Successes => Outcomes.GetValueOrDefault(SuccessLabel);

    public const string SuccessLabel = "success";

    public void AddRequest(string outcome, double latencyMs, long inputTokens, long outputTokens, decimal costUsd, bool cached, bool failover)
    {
        Requests++;
        Outcomes[outcome] = Outcomes.GetValueOrDefault(outcome) + 1;
        if (outcome == SuccessLabel)
        {
            LatencyHistogram.Add(LatencyBounds, LatencyBuckets, latencyMs);
        }

        InputTokens += inputTokens;
        OutputTokens += outputTokens;
        CostUsd += costUsd;
        CacheHits += cached ? 1 : 0;
        Failovers += failover ? 1 : 0;
    }

    public void Merge(StatsFigures other)
    {
        Requests += other.Requests;
        foreach (var (outcome, count) in other.Outcomes)
        {
            Outcomes[outcome] = Outcomes.GetValueOrDefault(outcome) + count;
        }

        LatencyHistogram.Merge(LatencyBuckets, other.LatencyBuckets);
        InputTokens += other.InputTokens;
        OutputTokens += other.OutputTokens;
        CostUsd += other.CostUsd;
        CacheHits += other.CacheHits;
        Failovers += other.Failovers;
    }

    public double? LatencyPercentile(double quantile) => LatencyHistogram.Percentile(LatencyBounds, LatencyBuckets, quantile);
}
