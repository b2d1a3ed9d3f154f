using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Navigator.Grains.Caching;

/// <summary>Silo configuration section "responseCache".</summary>
public sealed class ResponseCacheOptions
{
    public const string Section = "responseCache";

    /// <summary>Memory for cached answers across the cluster's shards; each shard holds 1/16 of it.</summary>
    public int MaxMegabytes { get; set; } = 256;

    public long ShardCapacityBytes => Math.Max(64 * 1024, (long)Math.Clamp(MaxMegabytes, 1, 64 * 1024) * 1024 * 1024 / ResponseCacheShards.Count);
}

/// <summary>The cache shards' gauges (entries, bytes) and eviction counter, on the silo's /metrics.</summary>
public sealed class ResponseCacheMetrics
{
    public const string MeterName = "Navigator.Cache";

    private readonly ConcurrentDictionary<ResponseCacheGrain, byte> _shards = new();
    private readonly Counter<long> _evictions;

    public ResponseCacheMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _evictions = meter.CreateCounter<long>("navigator.cache.evictions", description: "Cached answers evicted to stay within the shards' memory (responseCache:maxMegabytes).");
        meter.CreateObservableGauge("navigator.cache.entries", () => _shards.Keys.Sum(s => (long)s.Entries), description: "Cached answers held by this silo's cache shards.");
        meter.CreateObservableGauge("navigator.cache.bytes", () => _shards.Keys.Sum(s => s.Bytes), unit: "By", description: "Bytes of cached answers held by this silo's cache shards.");
    }

    public void Track(ResponseCacheGrain shard) => _shards[shard] = 0;

    public void Untrack(ResponseCacheGrain shard) => _shards.TryRemove(shard, out _);

    public void Evicted(int count) => _evictions.Add(count);
}

/// <inheritdoc cref="IResponseCacheGrain"/>
/// <remarks>
/// Reentrant so that waiters can wait: every method runs to its first await on the grain's one thread,
/// and only <see cref="ClaimAsync"/> awaits (for a fill), so the maps are never changed concurrently.
/// Kept alive: an idle shard collected after the default 15 minutes would drop answers that the stale
/// window (24 h) promises to keep for an outage; there are only 16 shards.
/// </remarks>
[Reentrant]
[KeepAlive]
public sealed class ResponseCacheGrain(
    IOptions<ResponseCacheOptions> options,
    ResponseCacheMetrics metrics,
    [FromKeyedServices(LedgerClock.Key)] TimeProvider time) : Grain, IResponseCacheGrain
{
    // Counted per entry beyond its key and value: the node, the entry record and the map slot.
    private const int EntryOverheadBytes = 128;

    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recency = new(); // most recently used first
    private readonly Dictionary<string, Fill> _fills = new(StringComparer.Ordinal);
    private long _evictions;

    public int Entries => _entries.Count;

    public long Bytes { get; private set; }

    private long Capacity => options.Value.ShardCapacityBytes;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        metrics.Track(this);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.Untrack(this);
        return Task.CompletedTask;
    }

    public async Task<CacheClaim> ClaimAsync(string key, TimeSpan maxAge, TimeSpan wait)
    {
        var now = time.GetUtcNow();
        var entry = Find(key, now);
        if (entry is not null && now - entry.StoredAt < maxAge)
        {
            return new CacheClaim(entry.Value, null, false);
        }

        if (!_fills.TryGetValue(key, out var fill) || fill.HeldUntil <= now)
        {
            _fills[key] = new Fill(now + wait);
            return new CacheClaim(null, entry?.Value, true);
        }

        var waiter = new Waiter(wait);
        fill.Waiters.Enqueue(waiter);
        try
        {
            return await waiter.Answer.Task.WaitAsync(wait, time);
        }
        catch (TimeoutException)
        {
            // Passed over if the filler gives up later: a promotion only goes to a waiter still waiting.
            waiter.Answer.TrySetCanceled();
            return new CacheClaim(null, Find(key, time.GetUtcNow())?.Value, false);
        }
    }

    public Task SetAsync(string key, byte[] value, TimeSpan lifetime)
    {
        var now = time.GetUtcNow();
        Remove(key);
        var size = Size(key, value);
        if (size <= Capacity / 4 && lifetime > TimeSpan.Zero)
        {
            _entries[key] = _recency.AddFirst(new Entry(key, value, now, now + lifetime));
            Bytes += size;
            var evicted = 0;
            while (Bytes > Capacity && _recency.Last is { } oldest)
            {
                Remove(oldest.Value.Key);
                evicted++;
            }

            if (evicted > 0)
            {
                _evictions += evicted;
                metrics.Evicted(evicted);
            }
        }

        if (_fills.Remove(key, out var fill))
        {
            var answer = new CacheClaim(value, null, false);
            while (fill.Waiters.TryDequeue(out var waiter))
            {
                waiter.Answer.TrySetResult(answer);
            }
        }

        return Task.CompletedTask;
    }

    public Task AbandonAsync(string key)
    {
        if (!_fills.TryGetValue(key, out var fill))
        {
            return Task.CompletedTask;
        }

        var now = time.GetUtcNow();
        var stale = Find(key, now)?.Value;
        while (fill.Waiters.TryDequeue(out var next))
        {
            if (next.Answer.TrySetResult(new CacheClaim(null, stale, true)))
            {
                fill.HeldUntil = now + next.Wait;
                return Task.CompletedTask;
            }
        }

        _fills.Remove(key);
        return Task.CompletedTask;
    }

    public Task<CacheShardStats> GetStatsAsync() => Task.FromResult(new CacheShardStats(_entries.Count, Bytes, Capacity, _evictions));

    /// <summary>The entry still inside its lifetime, marked as just used; an expired one is dropped.</summary>
    private Entry? Find(string key, DateTimeOffset now)
    {
        if (!_entries.TryGetValue(key, out var node))
        {
            return null;
        }

        if (node.Value.ExpiresAt <= now)
        {
            Remove(key);
            return null;
        }

        _recency.Remove(node);
        _recency.AddFirst(node);
        return node.Value;
    }

    private void Remove(string key)
    {
        if (_entries.Remove(key, out var node))
        {
            _recency.Remove(node);
            Bytes -= Size(key, node.Value.Value);
        }
    }

    private static long Size(string key, byte[] value) => (key.Length * 2L) + value.Length + EntryOverheadBytes;

    private sealed record Entry(string Key, byte[] Value, DateTimeOffset StoredAt, DateTimeOffset ExpiresAt);

    private sealed class Fill(DateTimeOffset heldUntil)
    {
        /// <summary>A filler that never reports back (its replica died) holds the key only until then.</summary>
        public DateTimeOffset HeldUntil { get; set; } = heldUntil;

        public Queue<Waiter> Waiters { get; } = new();
    }

    private sealed class Waiter(TimeSpan wait)
    {
        public TimeSpan Wait { get; } = wait;

        public TaskCompletionSource<CacheClaim> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
