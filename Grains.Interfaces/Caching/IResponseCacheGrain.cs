using System.IO.Hashing;
using System.Text;

namespace Navigator.Grains.Caching;

/// <summary>
/// One shard of the cluster-wide response cache: the second level behind each replica's HybridCache.
/// Entries live in the shard's memory only (no storage write per entry), bounded in bytes with
/// least-recently-used eviction; losing a shard loses only cached answers. The shard also
/// coordinates fills: of the replicas that miss the same key at once, one calls a provider and the
/// others wait for its answer.
/// </summary>
[Alias("Navigator.IResponseCacheGrain")]
public interface IResponseCacheGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// The entry if it was stored less than <paramref name="maxAge"/> ago (<see cref="CacheClaim.Fresh"/>).
    /// Otherwise the caller either becomes the one filler of the key (<see cref="CacheClaim.Claimed"/>) or,
    /// when a fill is under way, waits up to <paramref name="wait"/> for it. An older entry still inside
    /// its lifetime comes back as <see cref="CacheClaim.Stale"/>, to serve if the fill fails.
    /// </summary>
    [Alias("Claim")]
    Task<CacheClaim> ClaimAsync(string key, TimeSpan maxAge, TimeSpan wait);

    /// <summary>Stores an entry for <paramref name="lifetime"/> and hands it to every replica waiting for the key.</summary>
    [Alias("Set")]
    Task SetAsync(string key, byte[] value, TimeSpan lifetime);

    /// <summary>The filler gives up (the provider call failed): the next waiter, if any, becomes the filler. One call at a time, never a pile.</summary>
    [Alias("Abandon")]
    Task AbandonAsync(string key);

    [Alias("GetStats")]
    Task<CacheShardStats> GetStatsAsync();
}

/// <summary>What a claim found. At most one of <see cref="Fresh"/> and <see cref="Claimed"/> is set; neither means the wait ran out.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.CacheClaim")]
public sealed record CacheClaim(
    [property: Id(0)] byte[]? Fresh,
    [property: Id(1)] byte[]? Stale,
    [property: Id(2)] bool Claimed);

[GenerateSerializer, Immutable, Alias("Navigator.CacheShardStats")]
public sealed record CacheShardStats(
    [property: Id(0)] int Entries,
    [property: Id(1)] long Bytes,
    [property: Id(2)] long CapacityBytes,
    [property: Id(3)] long Evictions);

public static class ResponseCacheShards
{
    /// <summary>Shards: each holds 1/Count of the cluster's cache memory, on whichever silo Orleans places it.</summary>
    public const int Count = 16;

    /// <summary>The shard of a key. XxHash32: the same on every replica and release.</summary>
    public static long For(string key) => XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(key)) % Count;
}
