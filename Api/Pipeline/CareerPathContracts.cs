using System.Text.Json.Serialization;

namespace Navigator.Api.Pipeline;

public sealed record CareerPathRequest(
    string? UserId,
    string? UserProfile,
    string? JobMarketData,
    string? Provider);

public sealed record SalaryRange(
    [property: JsonPropertyName("min")] decimal Min,
    [property: JsonPropertyName("max")] decimal Max,
    [property: JsonPropertyName("currency")] string Currency);

public sealed record Recommendation(
    string Title,
    double FitScore,
    SalaryRange SalaryRange,
    IReadOnlyList<string> SkillGaps,
    IReadOnlyList<string> NextSteps);

public sealed record AttemptRecord(
    int Attempt,
    string Provider,
    string Model,
    AttemptOutcome Outcome,
    double LatencyMs,
    decimal CostUsd,
    int MaxOutputTokens = 0,
    bool Downgraded = false);

public sealed record CareerPathMeta(
    string FeatureVersion,
    string SystemPromptVersion,
    string UserPromptVersion,
    string? ExperimentId,
    string? VariantId,
    string Provider,
    string Model,
    bool Cached,
    bool Stale,
    bool Failover,
    bool Truncated,
    int InputTokens,
    int OutputTokens,
    decimal CostUsd,
    long LatencyMs,
    IReadOnlyList<AttemptRecord> Attempts);

public sealed record CareerPathResponse(
    string RequestId,
    IReadOnlyList<Recommendation> Recommendations,
    CareerPathMeta Meta);
