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
    }

    public Task<ExperimentDefinition?> GetDefinitionAsync() => Task.FromResult(state.State.Definition);
}
