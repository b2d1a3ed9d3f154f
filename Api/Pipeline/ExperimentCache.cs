using System.Collections.Concurrent;
using Navigator.Grains.Experiments;
using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Pipeline;

/// <summary>
/// This replica's copy of the running experiments, one per feature. Every <see cref="RenewPeriod"/> it reads
/// the catalog (one grain call) and re-reads only the definitions whose revision moved; it also resolves
/// the snapshot of each variant that pins versions. A request assigns its variant from the copy
/// (<see cref="ExperimentDefinition.Assign"/>: a pure function of the definition and the user id), so the
/// same user gets the same variant on every replica and the request path makes no grain call. Only a
/// request that arrives before the first read, or whose pinned snapshot is not resolved yet for the
/// current config revision, waits for the grains.
/// </summary>
public sealed class ExperimentCache(IClusterClient client, FeatureConfigCache configs, ILogger<ExperimentCache> logger) : ObserverSubscription(logger)
{
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, ExperimentDefinition> _definitions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Experiment, long Revision, string Variant, long ConfigRevision), Task<ResolvedSnapshot>> _pinned = new();
    private IReadOnlyDictionary<string, ExperimentDefinition> _running = new Dictionary<string, ExperimentDefinition>(StringComparer.Ordinal);

    private byte[]? _signingKey;

    protected override TimeSpan RenewPeriod => TimeSpan.FromSeconds(1);

    /// <summary>The cluster's request-id signing key, once the first read has completed (null before).</summary>
    public byte[]? SigningKey => Volatile.Read(ref _signingKey);

    protected override string Name => "experiment definitions";

    /// <summary>The running experiment this replica applies to the feature's requests, as it last read it.</summary>
    public ExperimentDefinition? RunningOn(string feature) => Volatile.Read(ref _running).GetValueOrDefault(feature);

    /// <summary>The experiment running on the feature and the user's place in it, with the snapshot the user's variant serves.</summary>
    public async ValueTask<(VariantAssignment? Assignment, FeatureSnapshot Snapshot)> AssignAsync(
        FeatureSnapshot active, string userId, CancellationToken cancellationToken)
    {
        if (!_loaded.Task.IsCompleted)
        {
            await _loaded.Task.WaitAsync(cancellationToken);
        }

        if (!Volatile.Read(ref _running).TryGetValue(active.Feature, out var definition))
        {
            return (null, active);
        }

        var assignment = definition.Assign(userId);
        var variant = assignment.VariantId is { } id ? definition.Variants.First(v => v.Id == id) : null;
        return variant is null ? (assignment, active) : (assignment, await SnapshotOfAsync(definition, variant, active).WaitAsync(cancellationToken));
    }

    /// <summary>The snapshot a variant serves: its pinned versions (resolved once per config revision) and its pinned model.</summary>
    private async Task<FeatureSnapshot> SnapshotOfAsync(ExperimentDefinition definition, ExperimentVariant variant, FeatureSnapshot active)
    {
        var snapshot = active;
        if (variant.PinsVersions)
        {
            var resolved = await Resolve(definition, variant, active);
            // Pinned versions were checked when the experiment started and never change; should one not
            // resolve, the variant serves the active version rather than fail its users.
            snapshot = resolved.Snapshot is { } pinned ? pinned with { Revision = active.Revision, CacheGeneration = active.CacheGeneration } : active;
        }

        if (variant is { Model: { } model, Provider: { } provider } && snapshot.Settings.Providers.TryGetValue(provider, out var settings))
        {
            var providers = new Dictionary<string, ProviderModelSettings>(snapshot.Settings.Providers) { [provider] = settings with { Model = model } };
            snapshot = snapshot with { Settings = snapshot.Settings with { Providers = providers } };
        }

        return snapshot;
    }

    private Task<ResolvedSnapshot> Resolve(ExperimentDefinition definition, ExperimentVariant variant, FeatureSnapshot active)
    {
        var key = (definition.Id, definition.Revision, variant.Id, active.Revision);
        if (_pinned.TryGetValue(key, out var failed) && failed.IsFaulted)
        {
            _pinned.TryRemove(KeyValuePair.Create(key, failed)); // the next caller asks again
        }

        return _pinned.GetOrAdd(key, _ =>
            client.GetGrain<IPromptConfigGrain>(definition.Feature!).ResolveAsync(variant.FeatureVersion, variant.SystemPromptVersion, variant.UserPromptVersion));
    }

    protected override async Task RenewAsync(CancellationToken cancellationToken)
    {
        var catalog = client.GetGrain<IExperimentCatalogGrain>(IExperimentCatalogGrain.Key);
        if (SigningKey is null)
        {
            Volatile.Write(ref _signingKey, await catalog.GetSigningKeyAsync().WaitAsync(cancellationToken));
        }

        var summaries = await catalog.ListAsync().WaitAsync(cancellationToken);
        var running = new Dictionary<string, ExperimentDefinition>(StringComparer.Ordinal);
        foreach (var summary in summaries.Where(s => s.Status == ExperimentDefinition.Running && s.Feature is not null))
        {
            if (!_definitions.TryGetValue(summary.Id, out var definition) || definition.Revision != summary.Revision)
            {
                definition = await client.GetGrain<IExperimentGrain>(summary.Id).GetDefinitionAsync().WaitAsync(cancellationToken);
                if (definition is null)
                {
                    continue;
                }

                _definitions[summary.Id] = definition;
            }

            if (definition.IsRunning && definition.Feature is not null)
            {
                running[definition.Feature] = definition;
            }
        }

        foreach (var stale in _definitions.Keys.Where(id => running.Values.All(d => d.Id != id)))
        {
            _definitions.TryRemove(stale, out _);
        }

        // Resolve pinned snapshots before requests need them; drop those of older revisions.
        if (configs.Current is { } active)
        {
            foreach (var definition in running.Values.Where(d => d.Feature == active.Feature))
            {
                foreach (var variant in definition.Variants.Where(v => v.PinsVersions))
                {
                    await Resolve(definition, variant, active).WaitAsync(cancellationToken);
                }
            }

            foreach (var key in _pinned.Keys.Where(k => k.ConfigRevision != active.Revision || running.Values.All(d => d.Id != k.Experiment || d.Revision != k.Revision)))
            {
                _pinned.TryRemove(key, out _);
            }
        }

        Volatile.Write(ref _running, running);
        _loaded.TrySetResult();
    }

    protected override Task UnsubscribeAsync() => Task.CompletedTask;
}
