using System.IO.Hashing;
using System.Text;

namespace Navigator.Grains.Quotas;

/// <summary>
/// The usage of a shard of users for one UTC day (key: "{yyyy-MM-dd}/{shard}", see <see cref="UserQuotaShards.KeyFor"/>),
/// cluster-wide. API replicas count locally and sync the cumulative counts of every user they saw
/// change, one call per shard about once a second; the grain keeps one entry per user and replica,
/// so a repeated sync counts once and its memory grows with users and replicas, never with requests.
/// </summary>
[Alias("Navigator.IUserQuotaGrain")]
public interface IUserQuotaGrain : IGrainWithStringKey
{
    /// <summary>Records this replica's cumulative counts for the given users and returns the whole cluster's.</summary>
    [Alias("Sync")]
    Task<IReadOnlyDictionary<string, QuotaUsage>> SyncAsync(string replicaId, IReadOnlyDictionary<string, QuotaUsage> replicaCounts);
}

public static class UserQuotaShards
{
    /// <summary>Shards per day: each replica makes at most this many sync calls a period, whatever the number of users.</summary>
    public const int Count = 8;

    /// <summary>The grain for a user's day. The shard is XxHash32 of the user id: the same on every replica and release.</summary>
    public static string KeyFor(string userId, string day) =>
        $"{day}/{XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(userId)) % Count}";
}

[GenerateSerializer, Immutable, Alias("Navigator.QuotaUsage")]
public sealed record QuotaUsage(
    [property: Id(0)] int Requests,
    [property: Id(1)] long Tokens)
{
    public static QuotaUsage Zero { get; } = new(0, 0);

    public QuotaUsage Plus(QuotaUsage other) => new(Requests + other.Requests, Tokens + other.Tokens);

    public QuotaUsage Minus(QuotaUsage other) => new(Requests - other.Requests, Tokens - other.Tokens);

    /// <summary>Counts only grow: the larger of each.</summary>
    public QuotaUsage Max(QuotaUsage other) => new(Math.Max(Requests, other.Requests), Math.Max(Tokens, other.Tokens));
}
