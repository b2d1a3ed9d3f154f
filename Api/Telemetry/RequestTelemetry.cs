using Navigator.Api.Pipeline;

namespace Navigator.Api.Telemetry;

/// <summary>
/// One JSONL line: what a request asked for, what the gateway did, and what it cost. Built once, when the request ends.
/// <see cref="Client"/> is the name of the client key that called (never the key). The user appears only as <see cref="UserIdHash"/> (<see cref="UserPseudonyms"/>), and <see cref="Error"/> has emails and phone
/// numbers redacted.
/// </summary>
public sealed record RequestTelemetry(
    DateTimeOffset Timestamp,
    string RequestId,
    string? Client,
    string? UserIdHash,
    int Status,
    RequestOutcome Outcome,
    string? Error,
    string? FeatureVersion,
    string? SystemPromptVersion,
    string? UserPromptVersion,
    string? ExperimentId,
    string? VariantId,
    string? Provider,
    string? Model,
    bool Failover,
    bool Cached,
    bool Stale,
    bool Truncated,
    bool Downgraded,
    int MaxOutputTokens,
    int InputTokens,
    int OutputTokens,
    decimal CostUsd,
    long LatencyMs,
    IReadOnlyList<AttemptRecord> Attempts)
{
    /// <summary>The line for a request that ended with <paramref name="status"/>; <paramref name="outcome"/> is what the pipeline did, if it ran.</summary>
    public static RequestTelemetry Of(
        DateTimeOffset timestamp, string requestId, string? client, string? userIdHash, int status, RequestOutcome result, string? error, long latencyMs,
        CareerPathOutcome? outcome)
    {
        var snapshot = outcome?.Admission?.Snapshot;
        var assignment = outcome?.Admission?.Assignment;
        var attempts = outcome?.Attempts ?? [];
        return new RequestTelemetry(
            timestamp, requestId, client, userIdHash, status, result, error,
            snapshot?.FeatureVersion, snapshot?.SystemPromptVersion, snapshot?.UserPromptVersion,
            assignment?.ExperimentId, assignment?.VariantId,
            outcome?.Provider, outcome?.Model,
            outcome?.Failover ?? false,
            outcome?.Cached is not null,
            outcome?.Stale ?? false,
            outcome?.Truncated ?? false,
            attempts.Any(a => a.Downgraded),
            attempts.Count > 0 ? attempts[^1].MaxOutputTokens : 0,
            outcome?.InputTokens ?? 0,
            outcome?.OutputTokens ?? 0,
            outcome?.CostUsd ?? 0,
            latencyMs,
            attempts);
    }
}
