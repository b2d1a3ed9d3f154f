using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Navigator.Api.Apis;
using Navigator.Api.Options;
using Navigator.Api.Telemetry;

namespace Navigator.Api.Hosting;

/// <summary>
/// ASP.NET Core's rate limiter, one token bucket per client key name (<see cref="ClientRateLimitOptions"/>).
/// It decides in memory on the replica: no grain call. Over the limit, a 429 <c>/problems/rate-limited</c>
/// with <c>Retry-After</c>, counted by client name in <c>navigator_client_rate_limited_total</c>.
/// </summary>
public static class ClientRateLimiting
{
    public const string Policy = "per-client";

    public static IServiceCollection AddClientRateLimiting(this IServiceCollection services)
    {
        services.AddOptionsWithValidateOnStart<ClientRateLimitOptions, ClientRateLimitOptionsValidator>()
            .BindConfiguration(ClientRateLimitOptions.Section);
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Policy, http =>
            {
                var options = http.RequestServices.GetRequiredService<IOptionsMonitor<ClientRateLimitOptions>>().CurrentValue;
                var client = http.User.Identity?.Name ?? "anonymous";
                if (!options.Enabled)
                {
                    return RateLimitPartition.GetNoLimiter((client, 0, 0));
                }

                // The bucket's settings are part of its partition key, so a changed limit takes effect at once.
                var bucket = options.For(client);
                // The bucket refills continuously at RequestsPerSecond (the limiter spreads a period's tokens over it).
                return RateLimitPartition.GetTokenBucketLimiter((client, bucket.RequestsPerSecond, bucket.Burst), key => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = key.Burst,
                    TokensPerPeriod = key.RequestsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var http = context.HttpContext;
                var client = http.User.Identity?.Name ?? "anonymous";
                http.RequestServices.GetRequiredService<GatewayMetrics>().RecordClientRateLimited(client);
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                Problems.SetRetryAfter(http, retryAfter);
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails =
                    {
                        Type = Problems.RateLimited,
                        Title = "Too many requests for this client key",
                        Status = StatusCodes.Status429TooManyRequests,
                        Detail = $"Client '{client}' is over its request rate on this replica. Retry after {Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds))} s.",
                    },
                });
            };
        });
        return services;
    }
}
