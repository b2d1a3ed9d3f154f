using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Navigator.Api.Auth;
using Navigator.Api.Options;
using Navigator.Api.Telemetry;
using Navigator.Grains.Providers;
using Navigator.Grains.Stats;

namespace Navigator.Api.Apis;

/// <summary>Latency percentiles (ms) of the answered requests, from a bucketed histogram.</summary>
public sealed record LatencyView(double? P50, double? P95, double? P99);

/// <summary>What a set of requests did: by outcome, latency, tokens, cost, cache hits, failovers and circuit trips.</summary>
public sealed record StatsFiguresView(
    long Requests,
    IReadOnlyDictionary<string, long> Outcomes,
    double? SuccessRate,
    LatencyView LatencyMs,
    long InputTokens,
    long OutputTokens,
    decimal CostUsd,
    long CacheHits,
    double? CacheHitRatio,
    long Failovers,
    int CircuitTrips)
{
    public static StatsFiguresView From(StatsFigures f, int circuitTrips) => new(
        f.Requests,
        new SortedDictionary<string, long>(f.Outcomes, StringComparer.Ordinal),
        f.Requests == 0 ? null : Math.Round((double)f.Successes / f.Requests, 4),
        new LatencyView(Round(f.LatencyPercentile(0.50)), Round(f.LatencyPercentile(0.95)), Round(f.LatencyPercentile(0.99))),
        f.InputTokens,
        f.OutputTokens,
        f.CostUsd,
        f.CacheHits,
        f.Successes == 0 ? null : Math.Round((double)f.CacheHits / f.Successes, 4),
        f.Failovers,
        circuitTrips);

    private static double? Round(double? ms) => ms is { } v ? Math.Round(v, 1) : null;
}

/// <summary>
/// The cluster's request statistics since <see cref="Since"/>: totals and per provider (<c>none</c> holds the
/// requests refused before a provider was chosen), summed over the <see cref="Replicas"/> that reported.
/// </summary>
public sealed record StatsResponse(
    DateTimeOffset Since,
    DateTimeOffset Until,
    int Replicas,
    StatsFiguresView Totals,
    IReadOnlyDictionary<string, StatsFiguresView> Providers);

/// <summary><c>GET /admin/stats</c>: the seed's statistics, cluster-wide (admin key).</summary>
public static class StatsAdminApi
{
    /// <summary>The window when the caller names no <c>since</c>.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromHours(24);

    /// <summary>The longest window: one grain per hour is read, so 7 days is 169 grain calls.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(7);

    public static IEndpointRouteBuilder MapStatsAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/stats", GetStatsAsync)
            .RequireAuthorization(AuthExtensions.AdminPolicy)
            .WithTags("Admin")
            .WithSummary("Requests by outcome, latency percentiles, tokens, cost, cache hits, failovers and circuit trips since a time, per provider, summed over every API replica.")
            .WithDescription("Query: since (ISO 8601, at most 7 days ago; default 24 hours ago), rounded down to the minute. Replicas send their figures once a second, so the last second of other replicas' requests may be missing.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }

    public static async Task<Results<Ok<StatsResponse>, ProblemHttpResult>> GetStatsAsync(
        string? since, IGrainFactory grains, StatsReporter reporter, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var from = now - DefaultWindow;
        if (since is not null
            && !DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out from))
        {
            return Problems.Invalid($"since '{since}' is not a time; use ISO 8601, e.g. {now.AddHours(-1):yyyy-MM-ddTHH:mm:ssZ}.");
        }

        if (from > now)
        {
            return Problems.Invalid($"since {from:O} is in the future.");
        }

        if (now - from > MaxWindow)
        {
            return Problems.Invalid($"since {from:O} is more than {MaxWindow.TotalDays:0} days ago, the longest window.");
        }

        from = new DateTimeOffset(StatsSlot.Of(from, null).Minute);
        await reporter.FlushAsync(cancellationToken); // this replica's last second, so its own requests are all counted

        var hours = new List<string>();
        for (var hour = from; hour <= now; hour = hour.AddHours(1))
        {
            hours.Add(StatsSlot.HourKey(hour));
        }

        if (hours[^1] != StatsSlot.HourKey(now))
        {
            hours.Add(StatsSlot.HourKey(now));
        }

        var views = await Task.WhenAll(hours.Select(h => grains.GetGrain<IGatewayStatsGrain>(h).QueryAsync(from)));
        var trips = await Task.WhenAll(ProviderNames.All.Select(async p => (Provider: p, Count: await grains.GetGrain<IProviderHealthGrain>(p).CountTripsAsync(from))));

        var providers = new SortedDictionary<string, StatsFigures>(StringComparer.Ordinal);
        foreach (var (provider, figures) in views.SelectMany(v => v.Providers))
        {
            if (!providers.TryGetValue(provider, out var sum))
            {
                providers[provider] = sum = new StatsFigures();
            }

            sum.Merge(figures);
        }

        foreach (var (provider, _) in trips.Where(t => t.Count > 0 && !providers.ContainsKey(t.Provider)))
        {
            providers[provider] = new StatsFigures();
        }

        var totals = new StatsFigures();
        foreach (var figures in providers.Values)
        {
            totals.Merge(figures);
        }

        int TripsOf(string provider) => trips.FirstOrDefault(t => t.Provider == provider).Count;
        return TypedResults.Ok(new StatsResponse(
            from,
            now,
            views.SelectMany(v => v.Replicas).Distinct(StringComparer.Ordinal).Count(),
            StatsFiguresView.From(totals, trips.Sum(t => t.Count)),
            providers.ToDictionary(p => p.Key, p => StatsFiguresView.From(p.Value, TripsOf(p.Key)), StringComparer.Ordinal)));
    }
}
