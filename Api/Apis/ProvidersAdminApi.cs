using Microsoft.AspNetCore.Http.HttpResults;
using Navigator.Api.Auth;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Grains.Providers;

namespace Navigator.Api.Apis;

public sealed record SetCircuitRequest(string? Mode);

/// <summary>A provider's circuit as the admin API shows it.</summary>
public sealed record ProviderView(
    string Provider,
    CircuitState State,
    CircuitMode Mode,
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
    CircuitState? ReplicaState)
{
    /// <summary>The grain's snapshot, with what the answering replica has cached (which may lag it by up to a second).</summary>
    public static ProviderView From(CircuitSnapshot s, DateTimeOffset now, CircuitSnapshot? replica) => new(
        s.Provider,
        s.EffectiveState(now),
        s.Mode,
        s.Mode == CircuitMode.Auto && s.State == CircuitState.Open ? s.OpenUntil : null,
        s.Calls, s.Failures, s.WindowCalls, s.WindowFailureRate, s.ProbesInFlight, s.ConsecutiveOpenings,
        s.LastOutcome?.ToString(), s.LastCallAt, s.LastTripReason,
        replica?.EffectiveState(now));
}

/// <summary>Each provider's cluster-wide circuit, and the operator's override (admin key).</summary>
public static class ProvidersAdminApi
{
    public static IEndpointRouteBuilder MapProvidersAdminApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/providers").RequireAuthorization(AuthExtensions.AdminPolicy).WithTags("Admin");
        group.MapGet("", GetProvidersAsync).WithSummary("Each provider's cluster-wide circuit: state, mode, counts, next probe time.");
        group.MapPost("/{name}/circuit", SetCircuitAsync).WithSummary("Sets a circuit's mode: body { \"mode\": \"auto\" | \"forceOpen\" | \"forceClosed\" }.");
        return app;
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

        if (Labels.Parse<CircuitMode>(body?.Mode) is not { } mode)
        {
            return Problems.Invalid($"mode must be one of: {string.Join(", ", Enum.GetValues<CircuitMode>().Select(m => m.Label()))}.");
        }

        var snapshot = await grains.GetGrain<IProviderHealthGrain>(name).SetModeAsync(mode, http.User.Identity?.Name ?? "unknown");
        circuits.Apply(snapshot);
        return TypedResults.Ok(ProviderView.From(snapshot, time.GetUtcNow(), snapshot));
    }
}
