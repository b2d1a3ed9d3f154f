using System.Diagnostics;
using Navigator.Grains.Budget;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>Guarantees that must survive <c>kill -9</c> of a real silo process.</summary>
public sealed class CrashTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Acknowledged_reservations_and_spend_survive_kill_9_and_expired_ones_are_charged()
    {
        var clusterId = TestStorage.NewServiceId("crash");
        var serviceId = TestStorage.NewServiceId("crash");
        const string month = "2026-11";

        var first = await SiloProcess.StartAsync(clusterId, serviceId);
        BudgetStatus before;
        using (var client = await TestSilo.StartClientAsync(clusterId, serviceId))
        {
            var budget = client.ClusterClient().GetGrain<IBudgetGrain>(month);
            await budget.SetLimitAsync(100m, 0m, "test");
            Assert.True((await budget.ReserveAsync("settled", 1.50m, TimeSpan.FromMinutes(10))).Granted);
            await budget.SettleAsync("settled", 0.75m);
            // Three reservations acknowledged, then the silo dies before anyone settles them.
            var acknowledged = await Task.WhenAll(
                budget.ReserveAsync("open-1", 2m, TimeSpan.FromSeconds(6)),
                budget.ReserveAsync("open-2", 3m, TimeSpan.FromSeconds(6)),
                budget.ReserveAsync("open-3", 4m, TimeSpan.FromSeconds(6)));
            Assert.All(acknowledged, r => Assert.True(r.Granted));
            before = await budget.GetStatusAsync();
            first.Kill();
            await client.StopAsync(CancellationToken.None);
        }

        await first.DisposeAsync();
        var restart = Stopwatch.StartNew();
        await using var second = await SiloProcess.StartAsync(clusterId, serviceId);
        output.WriteLine($"replacement silo live after {restart.ElapsedMilliseconds} ms");
        using (var client = await TestSilo.StartClientAsync(clusterId, serviceId))
        {
            var budget = client.ClusterClient().GetGrain<IBudgetGrain>(month);
            var clock = Stopwatch.StartNew();
            var after = await RetryAsync(() => budget.GetStatusAsync());
            output.WriteLine($"ledger readable {clock.ElapsedMilliseconds} ms after the new silo started: spent {after.SpentUsd}, reserved {after.ReservedUsd}");

            Assert.Equal(100m, after.LimitUsd);
            Assert.Equal(0.75m, after.SpentUsd);
            Assert.Equal(9m, after.ReservedUsd);
            Assert.Equal(3, after.OpenReservations);
            Assert.Equal(before.PeakCommittedUsd, after.PeakCommittedUsd);

            // Nobody settles them: once their 6 s are up they are charged in full.
            var deadline = Stopwatch.StartNew();
            output.WriteLine($"client connected after {restart.ElapsedMilliseconds} ms");
            BudgetStatus expired;
            do
            {
                await Task.Delay(250);
                expired = await budget.GetStatusAsync();
            }
            while (expired.OpenReservations > 0 && deadline.Elapsed < TimeSpan.FromSeconds(30));

            Assert.Equal(0, expired.OpenReservations);
            Assert.Equal(9.75m, expired.SpentUsd);
            // A caller that settles late corrects the charge to the actual cost.
            Assert.Equal(SettlementOutcome.SettledAfterExpiry, (await budget.SettleAsync("open-1", 0.5m)).Outcome);
            Assert.Equal(8.25m, (await budget.GetStatusAsync()).SpentUsd);
            await client.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception) when (attempt < 20)
            {
                await Task.Delay(500);
            }
        }
    }
}
