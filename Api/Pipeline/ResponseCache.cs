using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Telemetry;
using Navigator.Grains.Caching;
using Navigator.Grains.Experiments;
using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Pipeline;

/// <summary>What the client asked of the cache with <c>Cache-Control</c>.</summary>
public enum CacheDirective
{
    /// <summary>Read, and write on a miss.</summary>
    Default,

    /// <summary><c>no-cache</c>: skip the lookup, call a provider, and refresh the entry.</summary>
    NoCache,

    /// <summary><c>no-store</c>: neither read nor write.</summary>
    NoStore,
}

/// <summary>A cached answer: what a hit needs to build its response.</summary>
public sealed record CachedAnswer(
    IReadOnlyList<Recommendation> Recommendations,
    string Provider,
    string Model,
    bool Truncated,
    DateTimeOffset CreatedAt);

/// <summary>The cache key and lifetimes of one request's answer.</summary>
public sealed record CachePlan(string Key, string Provider, string Model, TimeSpan Ttl, TimeSpan Lifetime);

[JsonSerializable(typeof(CachedAnswer))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class CachedAnswerJson : JsonSerializerContext;

/// <summary>
/// The response cache: this replica's HybridCache as the first level, the cluster's
/// <see cref="IResponseCacheGrain"/> shards as the second. A local hit makes no grain call; a local
/// miss makes one, which both reads the second level and, when that misses too, elects the one
/// replica that calls a provider while the others wait for its answer.
/// </summary>
/// <remarks>
/// HybridCache has its own second level (an <c>IDistributedCache</c>), but no way to elect a filler
/// across replicas or to return an entry past its TTL, so the second level is reached here, in the
/// same grain call as the election; HybridCache holds the first level, bounded by
/// <see cref="CacheOptions.LocalMegabytes"/>.
/// </remarks>
public sealed partial class ResponseCache(
    HybridCache local, IGrainFactory grains, IOptionsMonitor<CacheOptions> options, TimeProvider time, GatewayMetrics metrics, ILogger<ResponseCache> logger)
{
    private const string KeyFormat = "v1";

    private static readonly HybridCacheEntryOptions LocalReadOnly = new()
    {
        Flags = HybridCacheEntryFlags.DisableLocalCacheWrite | HybridCacheEntryFlags.DisableDistributedCache,
    };

    /// <summary>The request's cache key and lifetimes, or null when caching is off for it.</summary>
    public CachePlan? Plan(FeatureSnapshot snapshot, VariantAssignment? assignment, string provider, CareerPathRequest request, CacheDirective directive)
    {
        var o = options.CurrentValue;
        var feature = snapshot.Settings.Cache;
        if (directive == CacheDirective.NoStore || !o.Enabled || feature is { Enabled: false }
            || !snapshot.Settings.Providers.TryGetValue(provider, out var model))
        {
            return null;
        }

        // Everything that changes the answer, each field length-prefixed so no two inputs share a key.
        var key = new StringBuilder(KeyFormat);
        foreach (var field in new[]
                 {
                     snapshot.Feature, snapshot.FeatureVersion, snapshot.SystemPromptVersion, snapshot.UserPromptVersion,
                     snapshot.CacheGeneration.ToString(CultureInfo.InvariantCulture),
                     assignment?.ExperimentId ?? "", assignment?.VariantId ?? "",
                     provider, model.Model, model.Temperature.ToString("R", CultureInfo.InvariantCulture),
                     model.MaxOutputTokens.ToString(CultureInfo.InvariantCulture),
                     Normalize(request.UserProfile!), Normalize(request.JobMarketData!),
                 })
        {
            key.Append('|').Append(field.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(field);
        }

        var ttl = TimeSpan.FromSeconds(feature?.TtlSeconds ?? o.TtlSeconds);
        var stale = TimeSpan.FromSeconds(feature?.StaleSeconds ?? o.StaleSeconds);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())));
        return new CachePlan($"answer:{hash}", provider, model.Model, ttl, ttl + stale);
    }

    /// <summary>Trimmed, with every run of whitespace folded to one space.</summary>
    public static string Normalize(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    public bool IsFresh(CachedAnswer answer, CachePlan plan) => time.GetUtcNow() - answer.CreatedAt < plan.Ttl;

    /// <summary>This replica's copy, fresh or stale, without a grain call.</summary>
    public ValueTask<CachedAnswer?> GetLocalAsync(CachePlan plan, CancellationToken cancellationToken) =>
        local.GetOrCreateAsync<CachedAnswer?>(plan.Key, static _ => ValueTask.FromResult<CachedAnswer?>(null), LocalReadOnly, cancellationToken: cancellationToken);

    /// <summary>
    /// The second level: a fresh answer from another replica, or the right to fill, or (after <paramref name="wait"/>)
    /// neither. The cache only saves money: if its shard cannot be reached, this replica fills the entry itself.
    /// </summary>
    public async Task<(CachedAnswer? Fresh, CachedAnswer? Stale, bool Claimed)> ClaimAsync(CachePlan plan, TimeSpan wait, CancellationToken cancellationToken)
    {
        CacheClaim claim;
        try
        {
            claim = await Shard(plan).ClaimAsync(plan.Key, plan.Ttl, wait).WaitAsync(wait + TimeSpan.FromMilliseconds(250), cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogShardFailed(logger, ex, plan.Key);
            return (null, null, true);
        }

        var fresh = Decode(claim.Fresh);
        if (fresh is not null)
        {
            await local.SetAsync(plan.Key, fresh, LocalOnly(plan, fresh), cancellationToken: cancellationToken);
        }

        return (fresh, Decode(claim.Stale), claim.Claimed);
    }

    /// <summary>Stores a new answer on this replica and in the cluster, where it also releases the replicas waiting for it.</summary>
    /// <remarks>The answer is paid for by now: a shard that cannot be reached is logged, never the request's failure.</remarks>
    public async Task StoreAsync(CachePlan plan, CachedAnswer answer, CancellationToken cancellationToken)
    {
        await local.SetAsync(plan.Key, answer, LocalOnly(plan, answer), cancellationToken: cancellationToken);
        // Not awaited: the answer is ready, and the request does not wait for the cluster's copy. Replicas
        // asking meanwhile wait in the shard for exactly this call.
        _ = StoreInClusterAsync(plan, JsonSerializer.SerializeToUtf8Bytes(answer, CachedAnswerJson.Default.CachedAnswer));
    }

    private async Task StoreInClusterAsync(CachePlan plan, byte[] value)
    {
        try
        {
            await Shard(plan).SetAsync(plan.Key, value, plan.Lifetime);
        }
        catch (Exception ex)
        {
            LogShardFailed(logger, ex, plan.Key);
        }
    }

    /// <summary>
    /// The filler failed: the next waiting replica may try, one at a time. Not awaited: the request has its answer (an
    /// error) and must not wait for a shard that may be slow or gone.
    /// </summary>
    public void Abandon(CachePlan plan) => _ = AbandonInClusterAsync(plan);

    private async Task AbandonInClusterAsync(CachePlan plan)
    {
        try
        {
            await Shard(plan).AbandonAsync(plan.Key);
        }
        catch (Exception ex)
        {
            // Its waiters stop waiting at their own deadlines.
            LogShardFailed(logger, ex, plan.Key);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Response-cache shard for {Key} failed; the request goes on without it")]
    private static partial void LogShardFailed(ILogger logger, Exception exception, string key);

    public void Count(CacheResult result) => metrics.RecordCache(result);

    private IResponseCacheGrain Shard(CachePlan plan) => grains.GetGrain<IResponseCacheGrain>(ResponseCacheShards.For(plan.Key));

    private HybridCacheEntryOptions LocalOnly(CachePlan plan, CachedAnswer answer)
    {
        // Kept locally for what is left of the answer's lifetime, fresh and then stale.
        var left = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, (plan.Lifetime - (time.GetUtcNow() - answer.CreatedAt)).Ticks));
        return new HybridCacheEntryOptions { Expiration = left, LocalCacheExpiration = left, Flags = HybridCacheEntryFlags.DisableDistributedCache };
    }

    private static CachedAnswer? Decode(byte[]? bytes) =>
        bytes is null ? null : JsonSerializer.Deserialize(bytes, CachedAnswerJson.Default.CachedAnswer);
}

/// <summary>The label of navigator_cache_requests_total.</summary>
public enum CacheResult
{
    [JsonStringEnumMemberName("hit")] Hit,
    [JsonStringEnumMemberName("miss")] Miss,
    [JsonStringEnumMemberName("stale")] Stale,
    [JsonStringEnumMemberName("bypass")] Bypass,
}
