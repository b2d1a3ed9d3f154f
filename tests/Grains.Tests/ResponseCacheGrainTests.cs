using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Navigator.Grains.Caching;

namespace Navigator.Grains.Tests;

/// <summary>The cluster-wide cache shard: bounded memory, and one filler per key with the others waiting.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ResponseCacheGrainTests(ClusterFixture fixture)
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    private IResponseCacheGrain Shard(long id) => fixture.Client.GetGrain<IResponseCacheGrain>(id);

    private static string Key(string name) => $"{name}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Filling_a_shard_past_its_limit_evicts_the_least_recently_used_and_counts_each_eviction()
    {
        var collectors = fixture.Cluster.Silos
            .Select(s => new MetricCollector<long>(s.SiloHost.Services.GetRequiredService<IMeterFactory>(), ResponseCacheMetrics.MeterName, "navigator.cache.evictions"))
            .ToList();
        var shard = Shard(100);
        var before = await shard.GetStatsAsync();
        var keys = Enumerable.Range(0, 200).Select(i => Key($"fill{i}")).ToList();
        var value = Encoding.UTF8.GetBytes(new string('x', 2000));
        foreach (var key in keys)
        {
            await shard.SetAsync(key, value, Long);
        }

        var stats = await shard.GetStatsAsync();
        Assert.Equal(64 * 1024, stats.CapacityBytes);
        Assert.InRange(stats.Bytes, 1, stats.CapacityBytes);
        // About 2.2 KB an entry: some 29 fit, and every other one was evicted, once.
        Assert.InRange(stats.Entries, 20, 31);
        Assert.Equal(200 + before.Entries - stats.Entries, stats.Evictions - before.Evictions);
        Assert.Equal(stats.Evictions - before.Evictions, collectors.Sum(c => c.GetMeasurementSnapshot().Sum(m => m.Value)));
        Assert.NotNull((await shard.ClaimAsync(keys[^1], Long, TimeSpan.Zero)).Fresh);
        Assert.True((await shard.ClaimAsync(keys[0], Long, TimeSpan.Zero)).Claimed);
        collectors.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task One_caller_fills_a_key_the_others_wait_and_a_failed_fill_passes_to_one_waiter_at_a_time()
    {
        var shard = Shard(101);
        var key = Key("stampede");
        Assert.True((await shard.ClaimAsync(key, Long, TimeSpan.FromSeconds(10))).Claimed);
        var second = shard.ClaimAsync(key, Long, TimeSpan.FromSeconds(10));
        var third = shard.ClaimAsync(key, Long, TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        Assert.False(second.IsCompleted || third.IsCompleted);

        // The filler failed: the next waiter, and only it, may try. (Two calls sent at once may reach the
        // grain in either order, so either may be next.)
        await shard.AbandonAsync(key);
        var first = await Task.WhenAny(second, third).WaitAsync(TimeSpan.FromSeconds(5));
        var other = first == second ? third : second;
        var promoted = await first;
        Assert.Equal((true, null), (promoted.Claimed, promoted.Fresh));
        await Task.Delay(200);
        Assert.False(other.IsCompleted);

        // It succeeded: the answer goes to the rest, and to whoever asks next.
        await shard.SetAsync(key, [1, 2, 3], Long);
        var handed = await other.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(handed.Claimed);
        Assert.Equal(new byte[] { 1, 2, 3 }, handed.Fresh);
        Assert.Equal(new byte[] { 1, 2, 3 }, (await shard.ClaimAsync(key, Long, TimeSpan.Zero)).Fresh);
    }

    [Fact]
    public async Task A_waiter_stops_at_its_own_wait_and_a_filler_that_never_reports_loses_the_key()
    {
        var shard = Shard(102);
        var key = Key("silent");
        Assert.True((await shard.ClaimAsync(key, Long, TimeSpan.FromMilliseconds(600))).Claimed);
        var waited = await shard.ClaimAsync(key, Long, TimeSpan.FromMilliseconds(200));
        Assert.Equal((false, null, null), (waited.Claimed, waited.Fresh, waited.Stale));

        // The filler's 600 ms are up: the key goes to the next caller.
        await Task.Delay(600);
        Assert.True((await shard.ClaimAsync(key, Long, TimeSpan.FromSeconds(1))).Claimed);
    }

    [Fact]
    public async Task An_entry_past_its_max_age_comes_back_as_stale_with_the_right_to_fill_and_is_gone_after_its_lifetime()
    {
        var shard = Shard(103);
        var key = Key("stale");
        await shard.SetAsync(key, [7], TimeSpan.FromSeconds(1));
        Assert.Equal(new byte[] { 7 }, (await shard.ClaimAsync(key, Long, TimeSpan.Zero)).Fresh);

        var stale = await shard.ClaimAsync(key, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.Equal((true, null), (stale.Claimed, stale.Fresh));
        Assert.Equal(new byte[] { 7 }, stale.Stale);
        await shard.AbandonAsync(key);

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var gone = await shard.ClaimAsync(key, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.True(gone.Claimed);
        Assert.Null(gone.Stale);
    }
}
