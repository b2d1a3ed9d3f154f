namespace Navigator.Grains.Experiments;

/// <summary>
/// An A/B experiment (key: experiment id): its definition and status. API replicas keep the
/// definition and assign variants themselves with <see cref="VariantAssigner"/>, a pure function of
/// the definition and the user id, so assignment costs no grain call per request.
/// </summary>
[Alias("Navigator.IExperimentGrain")]
public interface IExperimentGrain : IGrainWithStringKey
{
    /// <summary>The definition, or null when no experiment has this id.</summary>
    [Alias("GetDefinition"), ReadOnly]
    Task<ExperimentDefinition?> GetDefinitionAsync();
}

[GenerateSerializer, Immutable, Alias("Navigator.ExperimentDefinition")]
public sealed record ExperimentDefinition(
    [property: Id(0)] string Id,
    [property: Id(1)] string Status,
    [property: Id(2)] string Salt,
    [property: Id(3)] IReadOnlyList<ExperimentVariant> Variants)
{
    public bool IsRunning => Status == "running";

    /// <summary>The user's variant while the experiment runs; no variant otherwise.</summary>
    public VariantAssignment Assign(string userId)
    {
        var variant = IsRunning ? VariantAssigner.Pick(this, userId) : null;
        return new VariantAssignment(Id, variant?.Id, variant?.Provider);
    }
}

[GenerateSerializer, Immutable, Alias("Navigator.ExperimentVariant")]
public sealed record ExperimentVariant(
    [property: Id(0)] string Id,
    [property: Id(1)] int Weight,
    [property: Id(2)] string? Provider);

/// <summary>The result of an assignment. <see cref="VariantId"/> is null when the experiment is not running.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.VariantAssignment")]
public sealed record VariantAssignment(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] string? VariantId,
    [property: Id(2)] string? Provider);
