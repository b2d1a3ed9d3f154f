using System.Collections.Concurrent;
using Navigator.Grains.Experiments;

namespace Navigator.Api.Pipeline;

/// <summary>
/// This replica's copy of the experiment definitions its feature uses. A request assigns its
/// variant from the copy (<see cref="ExperimentDefinition.Assign"/>), so the same user gets the same
/// variant on every replica and after a restart, with no grain call. Only the first request that
/// names an experiment reads its grain; every known definition is re-read every
/// <see cref="RenewPeriod"/>, so a change reaches the replica within that time.
/// </summary>
public sealed class ExperimentCache(IClusterClient client, ILogger<ExperimentCache> logger) : ObserverSubscription(logger)
{
    private static readonly ExperimentDefinition Missing = new("", "missing", "", []);
    private readonly ConcurrentDictionary<string, ExperimentDefinition> _definitions = new(StringComparer.Ordinal);

    protected override TimeSpan RenewPeriod => TimeSpan.FromSeconds(1);

    protected override string Name => "experiment definitions";

    /// <summary>The user's assignment in the experiment; no variant when it is not running or does not exist.</summary>
    public async ValueTask<VariantAssignment> AssignAsync(string experimentId, string userId, CancellationToken cancellationToken)
    {
        if (!_definitions.TryGetValue(experimentId, out var definition))
        {
            definition = await LoadAsync(experimentId).WaitAsync(cancellationToken);
        }

        return ReferenceEquals(definition, Missing) ? new VariantAssignment(experimentId, null, null) : definition.Assign(userId);
    }

    protected override async Task RenewAsync(CancellationToken cancellationToken)
    {
        foreach (var id in _definitions.Keys)
        {
            await LoadAsync(id).WaitAsync(cancellationToken);
        }
    }

    protected override Task UnsubscribeAsync() => Task.CompletedTask;

    private async Task<ExperimentDefinition> LoadAsync(string id) =>
        _definitions[id] = await client.GetGrain<IExperimentGrain>(id).GetDefinitionAsync() ?? Missing;
}
