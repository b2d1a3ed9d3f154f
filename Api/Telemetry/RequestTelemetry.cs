using Navigator.Api.Pipeline;

namespace Navigator.Api.Telemetry;

/// <summary>One JSONL line: what a request asked for, what the gateway did, and what it cost.</summary>
public sealed class RequestTelemetry
{
    public DateTimeOffset Timestamp { get; set; }
    public string RequestId { get; set; } = "";
    public string? UserId { get; set; }
    public int Status { get; set; }
    public RequestOutcome Outcome { get; set; }
    public string? Error { get; set; }
    public string? FeatureVersion { get; set; }
    public string? SystemPromptVersion { get; set; }
    public string? UserPromptVersion { get; set; }
    public string? ExperimentId { get; set; }
    public string? VariantId { get; set; }
    public string? Provider { get; set; }
    public string? Model { get; set; }
    public bool Failover { get; set; }
    public bool Truncated { get; set; }
    public bool Downgraded { get; set; }
    public int MaxOutputTokens { get; set; }
    public int InputTokens { get; set; }
    public int OutputTokens { get; set; }
    public decimal CostUsd { get; set; }
    public long LatencyMs { get; set; }
    public IReadOnlyList<AttemptRecord> Attempts { get; set; } = [];
}
