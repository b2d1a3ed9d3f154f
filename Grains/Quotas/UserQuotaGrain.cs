namespace Navigator.Grains.Quotas;

/// <summary>
/// One shard of users' usage for one UTC day, fed by the replicas' syncs, one entry per user and
/// replica. It is held in memory, not written to storage: every sync carries the replica's cumulative
/// counts, so the replicas hold the truth, and a grain that comes back empty after a silo loss is
/// refilled by their next syncs. (Persisting a grain per user was measured: its storage read per new
/// user and day doubled the latency the gateway adds.) The grain deactivates when idle, which frees
/// it after the day is over.
/// </summary>
public sealed class UserQuotaGrain : Grain, IUserQuotaGrain
{
    private readonly Dictionary<string, Dictionary<string, QuotaUsage>> _users = new(StringComparer.Ordinal);

    public Task<IReadOnlyDictionary<string, QuotaUsage>> SyncAsync(string replicaId, IReadOnlyDictionary<string, QuotaUsage> replicaCounts)
    {
        var totals = new Dictionary<string, QuotaUsage>(replicaCounts.Count, StringComparer.Ordinal);
        foreach (var (user, counts) in replicaCounts)
        {
            if (!_users.TryGetValue(user, out var replicas))
            {
                _users[user] = replicas = new Dictionary<string, QuotaUsage>(StringComparer.Ordinal);
            }

            // A late or repeated sync never takes counts back.
            replicas[replicaId] = (replicas.GetValueOrDefault(replicaId) ?? QuotaUsage.Zero).Max(counts);
            totals[user] = replicas.Values.Aggregate(QuotaUsage.Zero, (sum, r) => sum.Plus(r));
        }

        return Task.FromResult<IReadOnlyDictionary<string, QuotaUsage>>(totals);
    }
}
