using Microsoft.Extensions.DependencyInjection;

namespace Navigator.Grains.Stats;

[GenerateSerializer, Alias("Navigator.GatewayStatsState")]
public sealed class GatewayStatsState
{
    /// <summary>Figures per minute and provider: at most 60 minutes times the providers (and <c>none</c>).</summary>
    [Id(0)] public Dictionary<StatsSlot, StatsFigures> Slots { get; set; } = [];

    /// <summary>The last batch stored from each replica that reported this hour.</summary>
    [Id(1)] public Dictionary<string, long> Reports { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// One UTC hour of request statistics (key: <c>yyyy-MM-ddTHH</c>), summed over the API replicas. State is
/// bounded by the hour's minutes, the providers and the replicas that reported in it; it is stored as a blob
/// with every batch, before the batch is acknowledged, and deleted <see cref="StatsSlot.Retention"/> later.
/// </summary>
public sealed class GatewayStatsGrain(
    [PersistentState("stats", "ledger")] IPersistentState<GatewayStatsState> state,
    [FromKeyedServices(LedgerClock.Key)] TimeProvider time) : Grain, IGatewayStatsGrain
{
    /// <summary>
    /// Retention, without a timer or a scan: each hour's grain, when it activates, tells the grain of the hour
    /// <see cref="StatsSlot.Retention"/> earlier to delete its blob. An hour whose later counterpart never activates
    /// (no traffic and no query then) keeps its blob; that leaves at most the hours of such gaps. Only a recent hour
    /// does it, so a grain woken to forget does not wake the one before it in turn.
    /// </summary>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (DateTimeOffset.TryParseExact(this.GetPrimaryKeyString(), "yyyy-MM-dd'T'HH", System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal, out var hour)
            && time.GetUtcNow() - hour < StatsSlot.Retention - TimeSpan.FromDays(1))
        {
            _ = GrainFactory.GetGrain<IGatewayStatsGrain>(StatsSlot.HourKey(hour - StatsSlot.Retention)).ForgetAsync();
        }

        return Task.CompletedTask;
    }

    public async Task ForgetAsync()
    {
        if (state.RecordExists)
        {
            await state.ClearStateAsync();
        }

        DeactivateOnIdle();
    }

    public async Task RecordAsync(StatsBatch batch)
    {
        if (state.State.Reports.TryGetValue(batch.ReplicaId, out var last) && batch.Sequence <= last)
        {
            return;
        }

        var hour = this.GetPrimaryKeyString();
        foreach (var (slot, figures) in batch.Slots)
        {
            if (slot.Hour != hour)
            {
                continue; // a replica's bug, not this hour's figures
            }

            if (!state.State.Slots.TryGetValue(slot, out var stored))
            {
                state.State.Slots[slot] = stored = new StatsFigures();
            }

            stored.Merge(figures);
        }

        state.State.Reports[batch.ReplicaId] = batch.Sequence;
        // Not stored: the activation goes, so the replica's retry of this batch counts it once.
        await this.WriteOrDeactivateAsync(state);
    }

    public Task<StatsView> QueryAsync(DateTimeOffset since)
    {
        var from = StatsSlot.Of(since, null).Minute;
        var providers = new Dictionary<string, StatsFigures>(StringComparer.Ordinal);
        foreach (var (slot, figures) in state.State.Slots.Where(s => s.Key.Minute >= from))
        {
            if (!providers.TryGetValue(slot.Provider, out var sum))
            {
                providers[slot.Provider] = sum = new StatsFigures();
            }

            sum.Merge(figures);
        }

        return Task.FromResult(new StatsView(providers, [.. state.State.Reports.Keys]));
    }
}
