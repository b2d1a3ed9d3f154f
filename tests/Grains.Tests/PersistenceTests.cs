using Navigator.Grains.Budget;
using Navigator.Grains.PromptConfig;
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
        TestLease lease;
        await using (var silo = await TestSilo.StartAsync(clusterId, serviceId))
        {
            using var client = await silo.StartClientAsync();
            var budget = client.ClusterClient().GetGrain<IBudgetGrain>(month);
            Assert.Equal(5000m, (await budget.GetStatusAsync()).LimitUsd); // seeded from rate_limits.json
            await budget.SetLimitAsync(100m, null, "test");
            lease = new TestLease(budget);
            Assert.Equal(LeaseOutcome.Granted, (await lease.NeedAsync(2.5m)).Outcome);
            await lease.ReportAsync(1.25m);
            Assert.Equal(LeaseOutcome.Granted, (await new TestLease(budget, "other-replica").NeedAsync(3m)).Outcome);
            before = await budget.GetStatusAsync();
            await client.StopAsync();
        }

        await using (var silo = await TestSilo.StartAsync(clusterId, serviceId))
        {
            using var client = await silo.StartClientAsync();
            var budget = client.ClusterClient().GetGrain<IBudgetGrain>(month);
            var after = await budget.GetStatusAsync();

            Assert.Equal(100m, after.LimitUsd);
            Assert.Equal(1.25m, after.SpentUsd);
            // $1.25 left on the first lease, $3 on the second.
            Assert.Equal(4.25m, after.ReservedUsd);
            Assert.Equal(before.PeakCommittedUsd, after.PeakCommittedUsd);
            Assert.Equal(before.Leases.Select(l => (l.LeaseId, l.GrantedUsd, l.ChargedUsd)), after.Leases.Select(l => (l.LeaseId, l.GrantedUsd, l.ChargedUsd)));
            // The lease's last sequence number is durable too: repeating the last report changes nothing.
            await lease.Through(budget).RepeatAsync();
            Assert.Equal(1.25m, (await budget.GetStatusAsync()).SpentUsd);
            await client.StopAsync();
        }
    }

    [Fact]
    public async Task Versions_active_label_and_audit_log_survive_a_silo_restart()
    {
        var clusterId = TestStorage.NewServiceId("config");
        var serviceId = TestStorage.NewServiceId("config");
        const string feature = "career_path_navigator";

        FeatureOverview before;
        await using (var silo = await TestSilo.StartAsync(clusterId, serviceId))
        {
            using var client = await silo.StartClientAsync();
            var grain = client.ClusterClient().GetGrain<IPromptConfigGrain>(feature);
            Assert.Equal("1.2.3", (await grain.GetActiveAsync())!.FeatureVersion); // seeded
            await grain.PublishPromptAsync("system", "v2.2", "You are a terse career advisor.", "alice");
            await grain.PublishFeatureAsync(FeatureDocuments.Make(feature, "1.2.4", system: "v2.2"), true, "alice", "try v2.2");
            await grain.RollbackAsync("1.2.2", "bob", "compare with the archive");
            before = await grain.GetOverviewAsync();
            await client.StopAsync();
        }

        await using (var silo = await TestSilo.StartAsync(clusterId, serviceId))
        {
            using var client = await silo.StartClientAsync();
            var grain = client.ClusterClient().GetGrain<IPromptConfigGrain>(feature);
            var after = await grain.GetOverviewAsync();

            Assert.Equal("1.2.2", after.ActiveVersion);
            Assert.Equal(["1.2.2", "1.2.3", "1.2.4"], after.Versions.Select(v => v.Version));
            Assert.Equal(before.Audit, after.Audit);
            Assert.Contains(after.Audit, a => a is { Action: "rollback", Actor: "bob", From: "1.2.4", To: "1.2.2", Reason: "compare with the archive" });
            Assert.Equal(before.Revision, after.Revision);
            Assert.Equal("v2.0", (await grain.GetActiveAsync())!.SystemPromptVersion);
            await client.StopAsync();
        }
    }
}
