using Navigator.Grains.Seed;

namespace Navigator.Grains.Experiments;

[GenerateSerializer, Alias("Navigator.ExperimentState")]
public sealed class ExperimentState
{
    [Id(0)] public ExperimentDefinition? Definition { get; set; }
}

public sealed class ExperimentGrain(
    [PersistentState("experiment", "config")] IPersistentState<ExperimentState> state,
    ISeedSource seed) : Grain, IExperimentGrain
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!state.RecordExists)
        {
            var definition = seed.LoadExperiment(this.GetPrimaryKeyString());
            if (definition is not null)
            {
                state.State.Definition = definition;
                await state.WriteStateAsync();
            }
        }
        else if (state.State.Definition is { IsRunning: true } stored && stored.Variants.All(v => v.Buckets.Count == 0))
        {
            // Stored before variants owned bucket ranges: a fresh allocation at its weights gives every user
            // the variant the old weight-proportional assignment gave them (but for a bucket at a boundary
            // when the weights do not divide 10,000).
            state.State.Definition = stored with { Variants = BucketAllocator.Allocate(stored.Variants, stored.Coverage) };
            await state.WriteStateAsync();
        }
    }

    public Task<ExperimentDefinition?> GetDefinitionAsync() => Task.FromResult(state.State.Definition);
}
