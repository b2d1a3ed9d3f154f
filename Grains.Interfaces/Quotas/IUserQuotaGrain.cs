namespace Navigator.Grains.Quotas;

/// <summary>One user's usage for one UTC day (key: "{userId}/{yyyy-MM-dd}"), cluster-wide.</summary>
[Alias("Navigator.IUserQuotaGrain")]
public interface IUserQuotaGrain : IGrainWithStringKey
{
    /// <summary>Counts one request if the user is under both daily limits; otherwise counts nothing.</summary>
    [Alias("TryStart")]
    Task<QuotaDecision> TryStartRequestAsync(int requestsPerDay, long tokensPerDay);

    /// <summary>Adds the tokens a finished request used.</summary>
    [Alias("AddTokens"), OneWay]
    Task AddTokensAsync(long tokens);

    [Alias("GetUsage"), ReadOnly]
    Task<QuotaUsage> GetUsageAsync();
}

[GenerateSerializer, Immutable, Alias("Navigator.QuotaUsage")]
public sealed record QuotaUsage(
    [property: Id(0)] int Requests,
    [property: Id(1)] long Tokens);

[GenerateSerializer, Immutable, Alias("Navigator.QuotaDecision")]
public sealed record QuotaDecision(
    [property: Id(0)] bool Allowed,
    [property: Id(1)] string? Reason,
    [property: Id(2)] QuotaUsage Usage);
