using Navigator.Grains.Providers;
using Navigator.Grains.Quotas;

namespace Navigator.Grains.Tests;

/// <summary>Replicas send provider outcomes and quota counts in batches; the grains count them exactly.</summary>
[Collection(ClusterCollection.Name)]
public sealed class BatchedOutcomeTests(ClusterFixture fixture)
{
    private static ProviderCallOutcome Outcome(ProviderCallKind kind) => new(kind, 10, DateTimeOffset.UtcNow);

    [Fact]
    public async Task A_batch_is_counted_call_by_call_so_the_breaker_trips_at_the_same_failure()
    {
        // Defaults: a window of 20 calls, at least 5 calls, open at a 50% failure rate.
        var grain = fixture.Client.GetGrain<IProviderHealthGrain>($"batch-{Guid.NewGuid():N}");

        // 6 successes then 5 failures: 5/11 = 45% < 50%, closed.
        await grain.RecordBatchAsync([.. Enumerable.Repeat(Outcome(ProviderCallKind.Success), 6), .. Enumerable.Repeat(Outcome(ProviderCallKind.ServerError), 5)]);
        var status = await WaitForCallsAsync(grain, 11);
        Assert.Equal((CircuitState.Closed, 11, 5L), (status.State, status.WindowCalls, status.Failures));

        // One more failure, in a batch of its own: 6/12 = 50%, open, as if it had come alone.
        await grain.RecordBatchAsync([Outcome(ProviderCallKind.ServerError)]);
        status = await WaitForCallsAsync(grain, 12);
        Assert.Equal(CircuitState.Open, status.State);

        // A fresh breaker: 4 failures in one batch are under the minimum of 5 calls, the 5th opens it.
        var fresh = fixture.Client.GetGrain<IProviderHealthGrain>($"batch-{Guid.NewGuid():N}");
        await fresh.RecordBatchAsync([.. Enumerable.Repeat(Outcome(ProviderCallKind.Timeout), 4)]);
        Assert.Equal(CircuitState.Closed, (await WaitForCallsAsync(fresh, 4)).State);
        await fresh.RecordBatchAsync([Outcome(ProviderCallKind.Timeout)]);
        var tripped = await WaitForCallsAsync(fresh, 5);
        Assert.Equal((CircuitState.Open, 5), (tripped.State, tripped.WindowCalls));
    }

    [Fact]
    public async Task Quota_syncs_are_cumulative_per_user_and_replica_so_a_repeated_sync_counts_once()
    {
        var (ann, bob) = ($"ann-{Guid.NewGuid():N}", $"bob-{Guid.NewGuid():N}");
        var grain = fixture.Client.GetGrain<IUserQuotaGrain>($"{Guid.NewGuid():N}/0");

        var first = await grain.SyncAsync("replica-a", new Dictionary<string, QuotaUsage> { [ann] = new(3, 300), [bob] = new(1, 10) });
        Assert.Equal((new QuotaUsage(3, 300), new QuotaUsage(1, 10)), (first[ann], first[bob]));
        Assert.Equal(new QuotaUsage(5, 500), (await grain.SyncAsync("replica-b", new Dictionary<string, QuotaUsage> { [ann] = new(2, 200) }))[ann]);
        // Repeated, and a late one with smaller counts: nothing changes.
        Assert.Equal(new QuotaUsage(5, 500), (await grain.SyncAsync("replica-a", new Dictionary<string, QuotaUsage> { [ann] = new(3, 300) }))[ann]);
        Assert.Equal(new QuotaUsage(5, 500), (await grain.SyncAsync("replica-a", new Dictionary<string, QuotaUsage> { [ann] = new(1, 100) }))[ann]);
        var later = await grain.SyncAsync("replica-a", new Dictionary<string, QuotaUsage> { [ann] = new(7, 700), [bob] = new(1, 10) });
        Assert.Equal((new QuotaUsage(9, 900), new QuotaUsage(1, 10)), (later[ann], later[bob]));
    }

    [Fact]
    public void Users_spread_over_all_shards_of_their_day()
    {
        // XxHash32, unlike string.GetHashCode, is not randomized per process: every replica picks the same shard.
        Assert.StartsWith("2026-11-28/", UserQuotaShards.KeyFor("u-123", "2026-11-28"), StringComparison.Ordinal);
        var shards = Enumerable.Range(0, 1000).Select(i => UserQuotaShards.KeyFor($"user-{i}", "2026-11-28")).Distinct().Count();
        Assert.Equal(UserQuotaShards.Count, shards);
    }

    private static async Task<CircuitSnapshot> WaitForCallsAsync(IProviderHealthGrain grain, long calls)
    {
        // RecordBatchAsync is one-way: wait until the grain has counted the batch.
        for (var i = 0; i < 100; i++)
        {
            var status = await grain.GetStatusAsync();
            if (status.Calls >= calls)
            {
                return status;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"The grain never counted {calls} calls.");
    }
}
