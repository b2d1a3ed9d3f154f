namespace Navigator.Grains.Experiments;

/// <summary>An A/B experiment (key: experiment id).</summary>
[Alias("Navigator.IExperimentGrain")]
public interface IExperimentGrain : IGrainWithStringKey
{
    /// <summary>The sticky variant for a user: the same user always gets the same variant.</summary>
    [Alias("Assign"), ReadOnly]
    Task<VariantAssignment> AssignAsync(string userId);

    [Alias("GetDefinition"), ReadOnly]
    Task<ExperimentDefinition?> GetDefinitionAsync();
}

[GenerateSerializer, Immutable, Alias("Navigator.ExperimentDefinition")]
public sealed record ExperimentDefinition(
    [property: Id(0)] string Id,
    [property: Id(1)] string Status,
    [property: Id(2)] string Salt,
    [property: Id(3)] IReadOnlyList<ExperimentVariant> Variants);

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
