using Microsoft.Extensions.Diagnostics.HealthChecks;
using Navigator.Grains.Hosting;

namespace Navigator.Api.Hosting;

/// <summary>
/// Ready only when the Orleans client can reach the cluster and at least one silo is active. The answer comes from the
/// reached silo's membership view in memory (<see cref="IClusterPingGrain"/>), not from storage: while storage is down
/// the replica stays ready, serving from its lease or refusing with a 503 and Retry-After, instead of leaving its
/// Service with no endpoint at all.
/// </summary>
public sealed class ClusterHealthCheck(IClusterClient client) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var silos = await client.GetGrain<IClusterPingGrain>(0).ActiveSilosAsync()
                .WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return silos > 0
                ? HealthCheckResult.Healthy($"{silos} active silo(s).")
                : HealthCheckResult.Unhealthy("No active silo.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("The Orleans cluster is not reachable.", ex);
        }
    }
}
