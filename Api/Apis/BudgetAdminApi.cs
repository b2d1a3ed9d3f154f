using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Navigator.Api.Auth;
using Navigator.Api.Pipeline;
using Navigator.Grains.Budget;

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

public sealed record SetLimitRequest(JsonElement LimitUsd, JsonElement? DailyPacingFactor);

/// <summary>The month's budget: its limit, spend, leases and audit log (admin key).</summary>
public static partial class BudgetAdminApi
{
    [GeneratedRegex(@"^\d{4}-(0[1-9]|1[0-2])$")]
    private static partial Regex MonthPattern();

    public static IEndpointRouteBuilder MapBudgetAdminApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/budget").RequireAuthorization(AuthExtensions.AdminPolicy).WithTags("Admin");
        group.MapGet("/{month}", GetBudgetAsync).WithSummary("The month's limit, spend, leases per replica, in-flight and unreconciled amounts, and forecast.");
        group.MapPut("/{month}/limit", SetLimitAsync).WithSummary("Sets the month's hard limit in US dollars (audited).");
        group.MapGet("/{month}/audit", GetBudgetAuditAsync).WithSummary("Who changed the month's limit, when, from and to.");
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
