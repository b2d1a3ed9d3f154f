using System.Diagnostics;
using Navigator.Grains.Budget;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>
/// Losing one of two silos to <c>kill -9</c> is noticed in seconds, and its grains come back with their state. The
/// membership's detection time (two missed 3 s probes, then the votes) is measured and written to the test output.
/// </summary>
public sealed class SiloLossTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Grains_of_a_killed_silo_reactivate_on_the_survivor_within_seconds_with_their_state()
    {
        var clusterId = TestStorage.NewServiceId("loss");
        var serviceId = TestStorage.NewServiceId("loss");
        await using var a = await SiloProcess.StartAsync(clusterId, serviceId);
        await using var b = await SiloProcess.StartAsync(clusterId, serviceId);
        using var client = await TestSilo.StartClientAsync(clusterId, serviceId);
        var grains = client.ClusterClient();

        // Twenty ledgers spread over both silos, each with its own durable limit.
        var months = Enumerable.Range(1, 20).Select(i => $"loss-{i:00}").ToList();
        await Task.WhenAll(months.Select((m, i) => grains.GetGrain<IBudgetGrain>(m).SetLimitAsync(100m + i, 0m, "test")));

        a.Kill();
        var clock = Stopwatch.StartNew();
        // Membership: how long until the cluster declares the killed silo dead (ClusterMembershipOptions in the silo).
        var declaredDead = Task.Run(async () =>
        {
            var management = grains.GetGrain<IManagementGrain>(0);
            while (true)
            {
                try
                {
                    if ((await management.GetHosts(onlyActive: true).WaitAsync(TimeSpan.FromSeconds(2))).Count == 1)
                    {
                        return clock.Elapsed;
                    }
                }
                catch (Exception ex) when (ex is TimeoutException or OrleansException or SiloUnavailableException)
                {
                    // The management grain itself may have lived on the killed silo.
                }

                await Task.Delay(100);
            }
        });
        var recovered = await Task.WhenAll(months.Select(async (m, i) =>
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    var status = await grains.GetGrain<IBudgetGrain>(m).GetStatusAsync().WaitAsync(TimeSpan.FromSeconds(2));
                    return (Kept: status.LimitUsd == 100m + i, clock.Elapsed, Attempts: attempt);
                }
                catch (Exception ex) when (ex is TimeoutException or OrleansException or SiloUnavailableException)
                {
                    await Task.Delay(100);
                }
            }
        })).WaitAsync(TimeSpan.FromSeconds(60));

        var slowest = recovered.Max(r => r.Elapsed);
        var moved = recovered.Count(r => r.Attempts > 1);
        var detection = await declaredDead.WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"all 20 ledgers answered {slowest.TotalMilliseconds:0} ms after kill -9 of one silo; {moved} needed a retry; "
            + $"membership declared it dead after {detection.TotalMilliseconds:0} ms");
        Console.WriteLine($"SiloLossTests: grains back after {slowest.TotalMilliseconds:0} ms, silo declared dead after {detection.TotalMilliseconds:0} ms");
        Assert.All(recovered, r => Assert.True(r.Kept, "a ledger lost its limit"));
        Assert.True(moved > 0, "no ledger lived on the killed silo, so nothing was tested");
        Assert.True(slowest < TimeSpan.FromSeconds(15), $"recovery took {slowest}");
        // Two missed 3 s probes and the votes: well under half a minute, and not instantly (a pause is tolerated).
        Assert.InRange(detection, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30));
        await client.StopAsync(CancellationToken.None);
    }
}
