namespace Navigator.Grains.PromptConfig;

/// <summary>Versioned feature config and prompt templates for one feature (key: feature name).</summary>
[Alias("Navigator.IPromptConfigGrain")]
public interface IPromptConfigGrain : IGrainWithStringKey
{
    /// <summary>The active feature version with its prompt texts, as one immutable snapshot.</summary>
    [Alias("GetActive")]
    Task<FeatureSnapshot> GetActiveAsync();
}

/// <summary>Everything a request needs from the active feature version.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.FeatureSnapshot")]
public sealed record FeatureSnapshot(
    [property: Id(0)] string Feature,
    [property: Id(1)] string FeatureVersion,
    [property: Id(2)] string SystemPromptVersion,
    [property: Id(3)] string SystemPrompt,
    [property: Id(4)] string UserPromptVersion,
    [property: Id(5)] string UserTemplate,
    [property: Id(6)] FeatureSettings Settings,
    [property: Id(7)] long Revision);

/// <summary>The runtime parameters of a feature version.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.FeatureSettings")]
public sealed record FeatureSettings(
    [property: Id(0)] string? ExperimentId,
    [property: Id(1)] int RecommendationCount,
    [property: Id(2)] int MaxInputTokens,
    [property: Id(3)] int MaxOutputTokens,
    [property: Id(4)] int TargetOutputTokens,
    [property: Id(5)] IReadOnlyDictionary<string, ProviderModelSettings> Providers);

/// <summary>Model parameters for one provider within a feature version.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.ProviderModelSettings")]
public sealed record ProviderModelSettings(
    [property: Id(0)] string Model,
    [property: Id(1)] float Temperature,
    [property: Id(2)] int MaxOutputTokens);
