namespace Navigator.Grains.Quotas;

/// <summary>
/// One user's usage for one UTC day (key: "{userId}/{yyyy-MM-dd}"), cluster-wide. API replicas count
/// locally and sync their cumulative counts about once a second; the grain keeps one entry per
/// replica, so a repeated sync counts once and the state grows with replicas, not requests.
/// </summary>
[Alias("Navigator.IUserQuotaGrain")]
public interface IUserQuotaGrain : IGrainWithStringKey
{
    /// <summary>Records this replica's cumulative counts for the user's day and returns the whole cluster's.</summary>
    [Alias("Sync")]
    Task<QuotaUsage> SyncAsync(string replicaId, QuotaUsage replicaCounts);
}

[GenerateSerializer, Immutable, Alias("Navigator.QuotaUsage")]
public sealed record QuotaUsage(
    [property: Id(0)] int Requests,
    [property: Id(1)] long Tokens)
{
    public static QuotaUsage Zero { get; } = new(0, 0);

    public QuotaUsage Plus(QuotaUsage other) => new(Requests + other.Requests, Tokens + other.Tokens);

    public QuotaUsage Minus(QuotaUsage other) => new(Requests - other.Requests, Tokens - other.Tokens);
}
