using Navigator.Grains.Seed;

namespace Navigator.Grains.Experiments;

[GenerateSerializer, Alias("Navigator.ExperimentCatalogState")]
public sealed class ExperimentCatalogState
{
    [Id(0)] public Dictionary<string, ExperimentSummary> Experiments { get; set; } = new(StringComparer.Ordinal);

    /// <summary>32 random bytes, made on first activation: replicas sign request ids with it.</summary>
    [Id(1)] public byte[]? SigningKey { get; set; }
}

/// <summary>
/// The index of experiments. It keeps at most <see cref="Capacity"/> entries (the oldest stopped ones
/// leave first; their own grains keep them), so its state is bounded by that cap, not by traffic.
/// </summary>
public sealed class ExperimentCatalogGrain(
    [PersistentState("experimentCatalog", "config")] IPersistentState<ExperimentCatalogState> state,
    ISeedSource seed) : Grain, IExperimentCatalogGrain
{
    public const int Capacity = 500;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!state.RecordExists)
        {
            // The repository's experiments, read from the same file each experiment's grain seeds itself from.
            // Not by calling those grains: one of them may be the caller, waiting on this activation.
            foreach (var id in seed.ExperimentIds())
            {
                if (seed.LoadExperiment(id) is { } definition)
                {
                    state.State.Experiments[id] = new ExperimentSummary(id, definition.Feature, definition.Status, definition.Revision, DateTimeOffset.UnixEpoch);
                }
            }

            await state.WriteStateAsync();
        }

        if (state.State.SigningKey is null)
        {
            state.State.SigningKey = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
            await state.WriteStateAsync();
        }
    }

    public Task<byte[]> GetSigningKeyAsync() => Task.FromResult(state.State.SigningKey!);

    public Task<IReadOnlyList<ExperimentSummary>> ListAsync() =>
        Task.FromResult<IReadOnlyList<ExperimentSummary>>([.. state.State.Experiments.Values.OrderByDescending(e => e.UpdatedAt).ThenBy(e => e.Id, StringComparer.Ordinal)]);

    public async Task<CatalogRefusal?> UpsertAsync(ExperimentSummary summary)
    {
        if (summary.Status == ExperimentDefinition.Running
            && state.State.Experiments.Values.FirstOrDefault(e => e.Id != summary.Id && e.Feature == summary.Feature && e.Status == ExperimentDefinition.Running) is { } other)
        {
            return new CatalogRefusal("/feature", $"Experiment {other.Id} is already running on feature {summary.Feature}; stop it first.");
        }

        if (!state.State.Experiments.ContainsKey(summary.Id)
            && state.State.Experiments.Values.Count(e => e.Status != ExperimentDefinition.Stopped) >= Capacity)
        {
            return new CatalogRefusal("/id", $"{Capacity} experiments have not stopped; stop some before creating more.");
        }

        state.State.Experiments[summary.Id] = summary;
        foreach (var old in state.State.Experiments.Values.Where(e => e.Status == ExperimentDefinition.Stopped)
                     .OrderBy(e => e.UpdatedAt).Take(Math.Max(0, state.State.Experiments.Count - Capacity)).ToList())
        {
            state.State.Experiments.Remove(old.Id);
        }

        await this.WriteOrDeactivateAsync(state);
        return null;
    }

    public async Task RemoveAsync(string id)
    {
        if (state.State.Experiments.Remove(id))
        {
            await this.WriteOrDeactivateAsync(state);
        }
    }
}
