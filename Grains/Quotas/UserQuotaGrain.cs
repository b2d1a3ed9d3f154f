namespace Navigator.Grains.Quotas;

/// <summary>
/// A per-user, per-day counter. It is held in memory, not persisted: a quota is a fairness
/// limit, not money, and a silo loss at worst resets one day's counts for the users it hosted.
/// The grain deactivates when idle, which frees it after the day is over.
/// </summary>
public sealed class UserQuotaGrain : Grain, IUserQuotaGrain
{
    private int _requests;
    private long _tokens;

    public Task<QuotaDecision> TryStartRequestAsync(int requestsPerDay, long tokensPerDay)
    {
        string? reason = _requests >= requestsPerDay
            ? $"The daily limit of {requestsPerDay} requests is used up."
            : _tokens >= tokensPerDay
                ? $"The daily limit of {tokensPerDay} tokens is used up."
                : null;
        if (reason is null)
        {
            _requests++;
        }

        return Task.FromResult(new QuotaDecision(reason is null, reason, new QuotaUsage(_requests, _tokens)));
    }

    public Task AddTokensAsync(long tokens)
    {
        _tokens += Math.Max(0, tokens);
        return Task.CompletedTask;
    }

    public Task<QuotaUsage> GetUsageAsync() => Task.FromResult(new QuotaUsage(_requests, _tokens));
}
