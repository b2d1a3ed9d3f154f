namespace Navigator.Api.Pipeline;

/// <summary>The month's hard budget, or today's pacing cap, cannot pay for the attempt's worst case.</summary>
public sealed class BudgetExhaustedException(string month, decimal requestedUsd, decimal remainingUsd, bool dailyCap)
    : Exception(dailyCap
        ? $"Today's share of the {month} budget is used up (the request needs up to ${requestedUsd:0.######})."
        : $"The {month} budget cannot cover this request (needs up to ${requestedUsd:0.######}, ${remainingUsd:0.######} left).")
{
    public string Month { get; } = month;

    /// <summary>True when the daily pacing cap refused it, false for the monthly hard limit.</summary>
    public bool DailyCap { get; } = dailyCap;
}

/// <summary>The user has used up a daily quota.</summary>
public sealed class UserQuotaExceededException(string reason) : Exception(reason);

/// <summary>Every provider failed or was skipped.</summary>
public sealed class NoProviderAvailableException(IReadOnlyList<AttemptRecord> attempts, TimeSpan retryAfter)
    : Exception("No provider could answer the request.")
{
    public IReadOnlyList<AttemptRecord> Attempts { get; } = attempts;
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>The request's end-to-end deadline passed.</summary>
public sealed class DeadlineExceededException(TimeSpan deadline)
    : Exception($"The request did not complete within its {deadline.TotalMilliseconds:0} ms deadline.");

/// <summary>The provider answered, but not with the JSON object the prompt asks for.</summary>
public sealed class MalformedResponseException(string message, Microsoft.Extensions.AI.ChatResponse? response)
    : Exception(message)
{
    public Microsoft.Extensions.AI.ChatResponse? Response { get; } = response;
}
