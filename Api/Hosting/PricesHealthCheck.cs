using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;

namespace Navigator.Api.Hosting;

/// <summary>
/// Not ready while the active feature version uses a model with no configured price: such a request
/// could not be charged, so it would fail. The soft limit's cheaper models are checked when the
/// options are validated at start-up; the feature's models come from the grain, so they are checked here.
/// </summary>
public sealed class PricesHealthCheck(FeatureConfigCache configs, IOptionsMonitor<ProvidersOptions> providers) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (configs.Current is not { } snapshot)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("No feature config snapshot yet."));
        }

        var missing = MissingPrices.In(snapshot.Settings, providers.CurrentValue);
        return Task.FromResult(missing.Count == 0
            ? HealthCheckResult.Healthy($"Every model of feature version {snapshot.FeatureVersion} has a price.")
            : HealthCheckResult.Unhealthy(string.Join(" ", missing)));
    }
}
