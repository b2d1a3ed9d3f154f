using System.Text.Json.Serialization;

namespace Navigator.Grains.Providers;

/// <summary>
/// The cluster-wide circuit breaker of one LLM provider (key: provider name). API replicas
/// report every call's outcome, ask for a probe permit when the breaker is half-open, and receive
/// every state change by push.
/// </summary>
[Alias("Navigator.IProviderHealthGrain")]
public interface IProviderHealthGrain : IGrainWithStringKey
{
    /// <summary>
    /// Reports a replica's call outcomes since its last report, oldest first. The breaker counts
    /// each one exactly as if it had arrived alone. One-way: the caller never waits for the breaker.
    /// </summary>
    [Alias("RecordBatch"), OneWay]
    Task RecordBatchAsync(IReadOnlyList<ProviderCallOutcome> outcomes);

    [Alias("GetStatus")]
    Task<CircuitSnapshot> GetStatusAsync();

    /// <summary>How many times the circuit opened at or after <paramref name="since"/> (the last 1,000 openings are kept, for 31 days).</summary>
    [Alias("CountTrips"), ReadOnly]
    Task<int> CountTripsAsync(DateTimeOffset since);

    /// <summary>Grants a probe call when the open period is over; at most a bounded number cluster-wide.</summary>
    [Alias("TryAcquireProbe")]
    Task<ProbePermit> TryAcquireProbeAsync();

    /// <summary>Returns a probe permit whose call never reached the provider (the budget refused it, or the deadline came first). One-way.</summary>
    [Alias("ReleaseProbe"), OneWay]
    Task ReleaseProbeAsync();

    [Alias("SetMode")]
    Task<CircuitSnapshot> SetModeAsync(CircuitMode mode, string actor);

    /// <summary>Subscribes (or renews) an observer of state changes. Subscriptions expire unless renewed.</summary>
    [Alias("Subscribe")]
    Task SubscribeAsync(ICircuitObserver observer);

    [Alias("Unsubscribe")]
    Task UnsubscribeAsync(ICircuitObserver observer);
}

[Alias("Navigator.ICircuitObserver")]
public interface ICircuitObserver : IGrainObserver
{
    [Alias("OnCircuitChanged"), OneWay]
    Task OnCircuitChangedAsync(CircuitSnapshot snapshot);
}

[GenerateSerializer]
public enum ProviderCallKind
{
    Success = 0,
    ServerError = 1,
    Timeout = 2,
    RateLimited = 3,
    AuthFailure = 4,
    ClientError = 5,
    MalformedResponse = 6,
    /// <summary>The call threw something no provider failure looks like (a bug in an adapter, say): never counted against the circuit.</summary>
    Unknown = 7,
}

/// <summary>A circuit's state; the labels are the admin API's.</summary>
[GenerateSerializer, JsonConverter(typeof(JsonStringEnumConverter<CircuitState>))]
public enum CircuitState
{
    [JsonStringEnumMemberName("closed")] Closed = 0,
    [JsonStringEnumMemberName("halfOpen")] HalfOpen = 1,
    [JsonStringEnumMemberName("open")] Open = 2,
}

/// <summary>An operator's override of a circuit; the labels are the admin API's.</summary>
[GenerateSerializer, JsonConverter(typeof(JsonStringEnumConverter<CircuitMode>))]
public enum CircuitMode
{
    [JsonStringEnumMemberName("auto")] Auto = 0,
    [JsonStringEnumMemberName("forceOpen")] ForceOpen = 1,
    [JsonStringEnumMemberName("forceClosed")] ForceClosed = 2,
}

[GenerateSerializer, Immutable, Alias("Navigator.ProviderCallOutcome")]
public sealed record ProviderCallOutcome(
    [property: Id(0)] ProviderCallKind Kind,
    [property: Id(1)] double LatencyMs,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] TimeSpan? RetryAfter = null,
    [property: Id(4)] bool IsProbe = false);

[GenerateSerializer, Immutable, Alias("Navigator.ProbePermit")]
public sealed record ProbePermit(
    [property: Id(0)] bool Granted,
    [property: Id(1)] CircuitSnapshot Snapshot);

[GenerateSerializer, Immutable, Alias("Navigator.CircuitSnapshot")]
public sealed record CircuitSnapshot(
    [property: Id(0)] string Provider,
    [property: Id(1)] CircuitState State,
    [property: Id(2)] CircuitMode Mode,
    [property: Id(3)] DateTimeOffset? OpenUntil,
    [property: Id(4)] long Calls,
    [property: Id(5)] long Failures,
    [property: Id(6)] int WindowCalls,
    [property: Id(7)] double WindowFailureRate,
    [property: Id(8)] int ProbesInFlight,
    [property: Id(9)] int ConsecutiveOpenings,
    [property: Id(10)] ProviderCallKind? LastOutcome,
    [property: Id(11)] DateTimeOffset? LastCallAt,
    [property: Id(12)] string? LastTripReason,
    [property: Id(13)] long Revision)
{
    /// <summary>What callers should do now: Open until <see cref="OpenUntil"/>, then probe.</summary>
    public CircuitState EffectiveState(DateTimeOffset now) => Mode switch
    {
        CircuitMode.ForceOpen => CircuitState.Open,
        CircuitMode.ForceClosed => CircuitState.Closed,
        _ when State == CircuitState.Open && OpenUntil <= now => CircuitState.HalfOpen,
        _ => State,
    };
}
