using Navigator.Grains.Providers;
using Navigator.Grains.Stats;
using Navigator.Testing;

namespace Navigator.Grains.Tests;

/// <summary>
/// The cluster-wide statistics are durable: a new silo finds each replica's figures exactly, retried batches count once,
/// circuit trips are kept, and an hour's figures are deleted 8 days later.
/// </summary>
public sealed class StatsPersistenceTests
{
    private static readonly DateTimeOffset Hour = new(2040, 3, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Figures_and_trips_survive_a_silo_restart_and_a_retried_batch_counts_once()
    {
        var clusterId = TestStorage.NewServiceId("stats-restart");
        var serviceId = TestStorage.NewServiceId("stats-restart");
        var hourKey = StatsSlot.HourKey(Hour);
        var tripsSince = TestClock.Suite.GetUtcNow().AddMinutes(-1);

        await using (var silo = await TestSilo.StartAsync(clusterId, serviceId))
        {
            using var client = await silo.StartClientAsync();
            var grains = client.ClusterClient();
            var stats = grains.GetGrain<IGatewayStatsGrain>(hourKey);
            await stats.RecordAsync(Batch("replica-1", 1, (5, "openai", 3, "success", 120), (5, "none", 1, "budget_exhausted", 2)));
            await stats.RecordAsync(Batch("replica-2", 7, (6, "anthropic", 2, "success", 900)));
            await stats.RecordAsync(Batch("replica-1", 1, (5, "openai", 3, "success", 120))); // a retry of a stored batch
            await stats.RecordAsync(Batch("replica-1", 2, (40, "openai", 1, "success", 2600)));

            // Six failures in a row open the circuit once (window of 5 at least, 50% failures).
            var health = grains.GetGrain<IProviderHealthGrain>("openai");
            await health.RecordBatchAsync([.. Enumerable.Range(0, 6).Select(_ => new ProviderCallOutcome(ProviderCallKind.ServerError, 10, TestClock.Suite.GetUtcNow()))]);
            await WaitUntilAsync(async () => (await health.GetStatusAsync()).State == CircuitState.Open);
            Assert.Equal(1, await health.CountTripsAsync(tripsSince));
            await client.StopAsync();
        }

        await using (var silo = await TestSilo.StartAsync(clusterId, serviceId))
        {
            using var client = await silo.StartClientAsync();
            var grains = client.ClusterClient();
            var stats = grains.GetGrain<IGatewayStatsGrain>(hourKey);
            await stats.RecordAsync(Batch("replica-2", 7, (6, "anthropic", 2, "success", 900))); // retried again, after the restart

            var all = await stats.QueryAsync(Hour);
            Assert.Equal(["replica-1", "replica-2"], all.Replicas.Order());
            Assert.Equal(4, all.Providers["openai"].Requests);
            Assert.Equal(4, all.Providers["openai"].Successes);
            Assert.Equal(2, all.Providers["anthropic"].Requests);
            Assert.Equal(1, all.Providers["none"].Outcomes["budget_exhausted"]);
            Assert.Equal(0.004m * 4, all.Providers["openai"].CostUsd);
            // p50 of three 120 ms answers and one 2,600 ms answer lies in the 100–150 ms bucket.
            Assert.InRange(all.Providers["openai"].LatencyPercentile(0.5)!.Value, 100, 150);

            // Only the minutes at or after "since" count.
            var late = await stats.QueryAsync(Hour.AddMinutes(6));
            Assert.Equal(1, late.Providers["openai"].Requests);
            Assert.Equal(2, late.Providers["anthropic"].Requests);
            Assert.False(late.Providers.ContainsKey("none"));

            Assert.Equal(1, await grains.GetGrain<IProviderHealthGrain>("openai").CountTripsAsync(tripsSince));
            Assert.Equal(0, await grains.GetGrain<IProviderHealthGrain>("openai").CountTripsAsync(TestClock.Suite.GetUtcNow().AddMinutes(1)));

            // Retention: the grain of the same hour 8 days later, when it wakes, has this hour's blob deleted.
            await grains.GetGrain<IGatewayStatsGrain>(StatsSlot.HourKey(Hour + StatsSlot.Retention)).QueryAsync(Hour);
            await WaitUntilAsync(async () => (await stats.QueryAsync(Hour)).Providers.Count == 0);
            Assert.Empty((await stats.QueryAsync(Hour)).Replicas);
            await client.StopAsync();
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 100 && !await condition(); i++)
        {
            await Task.Delay(50);
        }
    }

    private static StatsBatch Batch(string replica, long sequence, params (int Minute, string Provider, int Requests, string Outcome, double LatencyMs)[] rows)
    {
        var slots = new Dictionary<StatsSlot, StatsFigures>();
        foreach (var (minute, provider, requests, outcome, latency) in rows)
        {
            var figures = new StatsFigures();
            for (var i = 0; i < requests; i++)
            {
                figures.AddRequest(outcome, latency, 300, 200, outcome == StatsFigures.SuccessLabel ? 0.004m : 0, cached: false, failover: false);
            }

            slots[StatsSlot.Of(Hour.AddMinutes(minute), provider)] = figures;
        }

        return new StatsBatch(replica, sequence, slots);
    }
}
