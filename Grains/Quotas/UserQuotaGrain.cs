namespace Navigator.Grains.Quotas;

[GenerateSerializer, Alias("Navigator.UserQuotaState")]
public sealed class UserQuotaState
{
    /// <summary>Each replica's cumulative counts for the day: bounded by the number of replicas.</summary>
    [Id(0)] public Dictionary<string, QuotaUsage> Replicas { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// A per-user, per-day usage counter fed by the replicas' syncs. The state is written behind, at
/// most every <see cref="WritePeriod"/> and when the grain deactivates, so a silo loss forgets at most
/// that much; the replicas' next syncs carry their cumulative counts and restore it. The grain
/// deactivates when idle, which frees it after the day is over.
/// </summary>
public sealed class UserQuotaGrain(
    [PersistentState("quota", "config")] IPersistentState<UserQuotaState> state) : Grain, IUserQuotaGrain
{
    public static readonly TimeSpan WritePeriod = TimeSpan.FromSeconds(5);

    private bool _dirty;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(WriteBehindAsync, new GrainTimerCreationOptions(WritePeriod, WritePeriod));
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        await WriteBehindAsync(cancellationToken);

    public Task<QuotaUsage> SyncAsync(string replicaId, QuotaUsage replicaCounts)
    {
        var known = state.State.Replicas.GetValueOrDefault(replicaId) ?? QuotaUsage.Zero;
        // Counts only grow: a late or repeated sync never takes any back.
        var merged = new QuotaUsage(Math.Max(known.Requests, replicaCounts.Requests), Math.Max(known.Tokens, replicaCounts.Tokens));
        if (merged != known)
        {
            state.State.Replicas[replicaId] = merged;
            _dirty = true;
        }

        return Task.FromResult(state.State.Replicas.Values.Aggregate(QuotaUsage.Zero, (sum, r) => sum.Plus(r)));
    }

    private async Task WriteBehindAsync(CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            _dirty = false;
            await state.WriteStateAsync(cancellationToken);
        }
    }
}
