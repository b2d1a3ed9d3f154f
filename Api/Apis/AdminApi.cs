using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Navigator.Api.Auth;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Grains.Budget;
using Navigator.Grains.Providers;

namespace Navigator.Api.Apis;

public sealed record BudgetView(
    string Month,
    decimal LimitUsd,
    decimal SpentUsd,
    decimal ReservedUsd,
    decimal RemainingUsd,
    decimal ForecastUsd,
    decimal TodaySpentUsd,
    decimal? DailyCapUsd,
    decimal PeakCommittedUsd,
    decimal InFlightUsd,
    decimal UnreconciledUsd,
    IReadOnlyList<LeaseView> Leases);

public sealed record SetCircuitRequest(string? Mode);

/// <summary>A provider's circuit as the admin API shows it.</summary>
public sealed record ProviderView(
    string Provider,
    string State,
    string Mode,
    DateTimeOffset? NextProbeAt,
    long Calls,
    long Failures,
    int WindowCalls,
    double WindowFailureRate,
    int ProbesInFlight,
    int ConsecutiveOpenings,
    string? LastOutcome,
    DateTimeOffset? LastCallAt,
    string? LastTripReason,
    string? ReplicaState)
{
    /// <summary>The grain's snapshot, with what the answering replica has cached (which may lag it by up to a second).</summary>
    public static ProviderView From(CircuitSnapshot s, DateTimeOffset now, CircuitSnapshot? replica) => new(
        s.Provider,
        Name(s.EffectiveState(now)),
        s.Mode switch { CircuitMode.ForceOpen => "forceOpen", CircuitMode.ForceClosed => "forceClosed", _ => "auto" },
        s.Mode == CircuitMode.Auto && s.State == CircuitState.Open ? s.OpenUntil : null,
        s.Calls, s.Failures, s.WindowCalls, s.WindowFailureRate, s.ProbesInFlight, s.ConsecutiveOpenings,
        s.LastOutcome?.ToString(), s.LastCallAt, s.LastTripReason,
        replica is null ? null : Name(replica.EffectiveState(now)));

    private static string Name(CircuitState state) => state switch
    {
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "halfOpen",
        _ => "closed",
    };
}

public sealed record SetLimitRequest(JsonElement LimitUsd, JsonElement? DailyPacingFactor);

public static partial class AdminApi
{
    [GeneratedRegex(@"^\d{4}-(0[1-9]|1[0-2])$")]
    private static partial Regex MonthPattern();

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin").RequireAuthorization(AuthExtensions.AdminPolicy).WithTags("Admin");
        group.MapGet("/budget/{month}", GetBudgetAsync).WithSummary("The month's limit, spend, leases per replica, in-flight and unreconciled amounts, and forecast.");
        group.MapPut("/budget/{month}/limit", SetLimitAsync).WithSummary("Sets the month's hard limit in US dollars (audited).");
        group.MapGet("/budget/{month}/audit", GetBudgetAuditAsync).WithSummary("Who changed the month's limit, when, from and to.");
        group.MapGet("/providers", GetProvidersAsync).WithSummary("Each provider's cluster-wide circuit: state, mode, counts, next probe time.");
        group.MapPost("/providers/{name}/circuit", SetCircuitAsync).WithSummary("Sets a circuit's mode: body { \"mode\": \"auto\" | \"forceOpen\" | \"forceClosed\" }.");
        return app;
    }

    public static async Task<Results<Ok<BudgetView>, ProblemHttpResult>> GetBudgetAsync(string month, IGrainFactory grains, TimeProvider time)
    {
        if (!MonthPattern().IsMatch(month))
        {
            return BadMonth(month);
        }

        var status = await grains.GetGrain<IBudgetGrain>(month).GetStatusAsync();
        return TypedResults.Ok(ToView(status, time.GetUtcNow()));
    }

    public static async Task<Results<Ok<IReadOnlyList<BudgetAuditEntry>>, ProblemHttpResult>> GetBudgetAuditAsync(string month, IGrainFactory grains) =>
        MonthPattern().IsMatch(month)
            ? TypedResults.Ok(await grains.GetGrain<IBudgetGrain>(month).GetAuditAsync())
            : BadMonth(month);

    public static async Task<Results<Ok<BudgetView>, ProblemHttpResult>> SetLimitAsync(
        string month, SetLimitRequest? body, HttpContext http, IGrainFactory grains, BudgetMonitor monitor, BudgetLeases leases, TimeProvider time)
    {
        if (!MonthPattern().IsMatch(month))
        {
            return BadMonth(month);
        }

        if (body is null || body.LimitUsd.ValueKind != JsonValueKind.Number || !body.LimitUsd.TryGetDecimal(out var limit) || limit < 0)
        {
            return Problems.Invalid("limitUsd must be a non-negative number.");
        }

        decimal? pacing = null;
        if (body.DailyPacingFactor is { ValueKind: not JsonValueKind.Null } factor)
        {
            if (factor.ValueKind != JsonValueKind.Number || !factor.TryGetDecimal(out var value) || value < 0 || value > 31)
            {
                return Problems.Invalid("dailyPacingFactor must be a number from 0 (off) to 31.");
            }

            pacing = value;
        }

        var status = await grains.GetGrain<IBudgetGrain>(month).SetLimitAsync(limit, pacing, http.User.Identity?.Name ?? "unknown");
        monitor.Observe(status); // this replica applies the soft limit to the new numbers at once
        await leases.RefreshAsync(month); // and its lease the new limit; other replicas within one report period
        return TypedResults.Ok(ToView(status, time.GetUtcNow()));
    }

    public static async Task<Ok<ProviderView[]>> GetProvidersAsync(IGrainFactory grains, CircuitStateCache circuits, TimeProvider time)
    {
        var snapshots = await Task.WhenAll(ProviderNames.All.Select(p => grains.GetGrain<IProviderHealthGrain>(p).GetStatusAsync()));
        return TypedResults.Ok(snapshots.Select(s => ProviderView.From(s, time.GetUtcNow(), circuits.Get(s.Provider))).ToArray());
    }

    public static async Task<Results<Ok<ProviderView>, ProblemHttpResult>> SetCircuitAsync(
        string name, SetCircuitRequest? body, HttpContext http, IGrainFactory grains, CircuitStateCache circuits, TimeProvider time)
    {
        if (!ProviderNames.IsKnown(name))
        {
            return TypedResults.Problem($"Unknown provider '{name}'; use one of: {string.Join(", ", ProviderNames.All)}.",
                statusCode: StatusCodes.Status404NotFound, title: "Not found", type: Problems.NotFound);
        }

        CircuitMode? mode = body?.Mode switch
        {
            "auto" => CircuitMode.Auto,
            "forceOpen" => CircuitMode.ForceOpen,
            "forceClosed" => CircuitMode.ForceClosed,
            _ => null,
        };
        if (mode is null)
        {
            return Problems.Invalid("mode must be one of: auto, forceOpen, forceClosed.");
        }

        var snapshot = await grains.GetGrain<IProviderHealthGrain>(name).SetModeAsync(mode.Value, http.User.Identity?.Name ?? "unknown");
        circuits.Apply(snapshot);
        return TypedResults.Ok(ProviderView.From(snapshot, time.GetUtcNow(), snapshot));
    }

    /// <summary>A straight-line forecast: this month's spend so far, scaled to the whole month.</summary>
    internal static BudgetView ToView(BudgetStatus status, DateTimeOffset now)
    {
        var start = DateTimeOffset.ParseExact(status.Month + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var end = start.AddMonths(1);
        var elapsed = (decimal)((now - start).TotalSeconds / (end - start).TotalSeconds);
        var forecast = now >= end || elapsed <= 0 ? status.SpentUsd : decimal.Round(status.SpentUsd / Math.Max(elapsed, 0.0001m), 4);
        return new BudgetView(status.Month, status.LimitUsd, status.SpentUsd, status.ReservedUsd, status.RemainingUsd,
            now < start ? 0 : forecast, status.TodaySpentUsd, status.DailyCapUsd, status.PeakCommittedUsd,
            status.InFlightUsd, status.UnreconciledUsd, status.Leases);
    }

    private static ProblemHttpResult BadMonth(string month) => Problems.Invalid($"'{month}' is not a month; use yyyy-MM, e.g. 2026-11.");
}
