using System.Diagnostics;
using Navigator.Grains.Budget;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>Guarantees that must survive <c>kill -9</c> of a real silo process.</summary>
public sealed class CrashTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Acknowledged_leases_and_spend_survive_kill_9_and_expired_ones_are_charged_then_reconciled()
    {
        var clusterId = TestStorage.NewServiceId("crash");
        var serviceId = TestStorage.NewServiceId("crash");
        const string month = "2026-11";

        var first = await SiloProcess.StartAsync(clusterId, serviceId);
        BudgetStatus before;
        TestLease[] open = [];
        using (var client = await TestSilo.StartClientAsync(clusterId, serviceId))
        {
            var budget = client.ClusterClient().GetGrain<IBudgetGrain>(month);
            await budget.SetLimitAsync(100m, 0m, "test");
            open = [.. Enumerable.Range(1, 3).Select(i => new TestLease(budget, $"replica-{i}"))];
            var settled = new TestLease(budget, "replica-0");
            Assert.Equal(LeaseOutcome.Granted, (await settled.NeedAsync(1.50m)).Outcome);
            await settled.ReportAsync(0.75m, release: true);
            // Three leases acknowledged, then the silo dies at once: nothing but the acknowledgement
            // itself stands between the grant and the kill.
            var acknowledged = await Task.WhenAll(open.Zip([2m, 3m, 4m], (lease, need) => lease.NeedAsync(need)));
            Assert.All(acknowledged, g => Assert.Equal(LeaseOutcome.Granted, g.Outcome));
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

            // Nothing acknowledged is lost. Whether the new activation has already swept the leases (their
            // 4 s ran out while the silo restarted) or not, each is either still open or charged in full.
            Assert.Equal(100m, after.LimitUsd);
            Assert.Equal(0.75m + 9m, after.SpentUsd + after.ReservedUsd);
            Assert.Equal(after.Leases.Count == 3 ? 0.75m : 9.75m, after.SpentUsd);
            Assert.Contains(after.Leases.Count, new[] { 0, 3 });
            Assert.Equal(before.PeakCommittedUsd, after.PeakCommittedUsd);

            // Their replicas never report again: once their 4 s are up they are charged in full.
            var deadline = Stopwatch.StartNew();
            output.WriteLine($"client connected after {restart.ElapsedMilliseconds} ms");
            BudgetStatus expired;
            do
            {
                await Task.Delay(250);
                expired = await budget.GetStatusAsync();
            }
            while (expired.Leases.Count > 0 && deadline.Elapsed < TimeSpan.FromSeconds(30));

            Assert.Empty(expired.Leases);
            Assert.Equal(9.75m, expired.SpentUsd);
            Assert.Equal(9m, expired.UnreconciledUsd);
            // A replica that reports late corrects the charge to what it really spent.
            Assert.Equal(LeaseOutcome.Closed, (await open[0].Through(budget).ReportAsync(0.5m)).Outcome);
            var reconciled = await budget.GetStatusAsync();
            Assert.Equal(8.25m, reconciled.SpentUsd);
            Assert.Equal(7m, reconciled.UnreconciledUsd);
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
            catch (Exception ex) when (attempt < 20 && ex is TimeoutException or OrleansException or SiloUnavailableException)
            {
                await Task.Delay(500);
            }
        }
    }
}

/// <summary>An API replica killed with its lease in hand.</summary>
public sealed class ReplicaCrashTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task A_killed_replicas_lease_is_charged_at_expiry_shown_as_unreconciled_and_the_limit_holds()
    {
        var clusterId = TestStorage.NewServiceId("replica-crash");
        var serviceId = TestStorage.NewServiceId("replica-crash");
        await using var silo = await SiloProcess.StartAsync(clusterId, serviceId);
        using var client = await TestSilo.StartClientAsync(clusterId, serviceId);
        // The API process runs on the system clock (NAVIGATOR_TEST_CLOCK moves only in-process hosts), on a
        // cluster of its own, so this month's ledger is fresh.
        var budget = client.ClusterClient().GetGrain<IBudgetGrain>(DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture));
        await budget.SetLimitAsync(10m, 0m, "test");

        await using var api = await ApiProcess.StartAsync(clusterId, serviceId);
        using var http = new HttpClient { BaseAddress = api.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "dev-client-key");
        decimal served = 0;
        for (var i = 0; i < 5; i++)
        {
            var response = await http.PostAsync("/v1/career-paths", new StringContent(
                $$"""{"userId":"crash-{{i}}","userProfile":"Data analyst, 4 years of SQL","jobMarketData":"Data Engineer: $120k-170k","provider":"openai"}""",
                System.Text.Encoding.UTF8, "application/json"));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            served += System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!["meta"]!["costUsd"]!.GetValue<decimal>();
        }

        api.Kill();
        // Nothing more can come from the replica: the lease as the ledger holds it now is final.
        var lease = Assert.Single((await budget.GetStatusAsync()).Leases);
        output.WriteLine($"killed the replica holding ${lease.GrantedUsd} (charged ${lease.ChargedUsd} reported); it served ${served}");

        // Nobody reports again: at expiry (4 s here) the lease is closed and what it set aside is charged.
        var clock = Stopwatch.StartNew();
        BudgetStatus after;
        do
        {
            await Task.Delay(250);
            after = await budget.GetStatusAsync();
        }
        while (after.Leases.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(30));

        output.WriteLine($"lease closed after {clock.ElapsedMilliseconds} ms: spent {after.SpentUsd}, unreconciled {after.UnreconciledUsd}");
        Assert.Empty(after.Leases);
        // Charged in full: exactly what the lease held (the month was fresh), which covers what it served;
        // the part it never reported is unreconciled.
        Assert.Equal(lease.GrantedUsd, after.SpentUsd);
        Assert.True(after.SpentUsd >= served, $"spent {after.SpentUsd} < served {served}");
        Assert.Equal(lease.GrantedUsd - lease.ChargedUsd, after.UnreconciledUsd);
        Assert.True(after.UnreconciledUsd > 0);
        Assert.True(after.PeakCommittedUsd <= after.LimitUsd);
        Assert.True(after.SpentUsd + after.ReservedUsd <= after.LimitUsd);
        await client.StopAsync(CancellationToken.None);
    }
}
