namespace Navigator.Grains.Providers;

/// <summary>Cluster-wide health of one LLM provider (key: provider name).</summary>
[Alias("Navigator.IProviderHealthGrain")]
public interface IProviderHealthGrain : IGrainWithStringKey
{
    [Alias("Record"), OneWay]
    Task RecordAsync(ProviderCallOutcome outcome);

    [Alias("GetStatus"), ReadOnly]
    Task<ProviderHealthStatus> GetStatusAsync();
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
}

[GenerateSerializer, Immutable, Alias("Navigator.ProviderCallOutcome")]
public sealed record ProviderCallOutcome(
    [property: Id(0)] ProviderCallKind Kind,
    [property: Id(1)] double LatencyMs,
    [property: Id(2)] DateTimeOffset At);

[GenerateSerializer, Immutable, Alias("Navigator.ProviderHealthStatus")]
public sealed record ProviderHealthStatus(
    [property: Id(0)] string Provider,
    [property: Id(1)] long Calls,
    [property: Id(2)] long Failures,
    [property: Id(3)] double WindowFailureRate,
    [property: Id(4)] ProviderCallKind? LastOutcome,
    [property: Id(5)] DateTimeOffset? LastCallAt);
