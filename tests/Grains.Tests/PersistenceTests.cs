using Navigator.Grains.Budget;
using Navigator.Testing;

namespace Navigator.Grains.Tests;

/// <summary>The budget ledger is durable in Azure Storage (Azurite): it survives the silo stopping and a new one starting.</summary>
public sealed class PersistenceTests
{
    [Fact]
    public async Task Budget_ledger_survives_a_silo_restart()
    {
        var clusterId = TestStorage.NewServiceId("restart");
        var serviceId = TestStorage.NewServiceId("restart");
        var month = "2026-11";

        BudgetStatus before;
        await using (var silo = await TestSilo.StartAsync(clusterId, serviceId))
        {
            using var client = await silo.StartClientAsync();
            var budget = client.ClusterClient().GetGrain<IBudgetGrain>(month);
            Assert.Equal(5000m, (await budget.GetStatusAsync()).LimitUsd); // seeded from rate_limits.json
            await budget.SetLimitAsync(100m);
            Assert.True((await budget.ReserveAsync("settled", 2.5m, TimeSpan.FromMinutes(10))).Granted);
            await budget.SettleAsync("settled", 1.25m);
            Assert.True((await budget.ReserveAsync("open", 3m, TimeSpan.FromMinutes(10))).Granted);
            before = await budget.GetStatusAsync();
            await client.StopAsync();
        }

        await using (var silo = await TestSilo.StartAsync(clusterId, serviceId))
        {
            using var client = await silo.StartClientAsync();
            var budget = client.ClusterClient().GetGrain<IBudgetGrain>(month);
            var after = await budget.GetStatusAsync();

            Assert.Equal(before, after);
            Assert.Equal(100m, after.LimitUsd);
            Assert.Equal(1.25m, after.SpentUsd);
            Assert.Equal(3m, after.ReservedUsd);
            // The settled id is remembered too: settling it again is a no-op.
            Assert.Equal(SettlementOutcome.AlreadySettled, (await budget.SettleAsync("settled", 9m)).Outcome);
            await client.StopAsync();
        }
    }
}
