namespace Navigator.Grains.Seed;

/// <summary>
/// The repo's config/ and prompts/ files, read once when a grain activates for the first time.
/// After that, grain state is the source of truth.
/// </summary>
public interface ISeedSource
{
    /// <summary>Feature config documents for a feature, and which of them is the active one.</summary>
    FeatureSeed? LoadFeature(string feature);

    /// <summary>An experiment from ab_test_config.json, or null when none has that id.</summary>
    Experiments.ExperimentDefinition? LoadExperiment(string experimentId);

    /// <summary>The text of config/schema/feature_config_schema.json.</summary>
    string? LoadSchema();

    /// <summary>The default monthly limit from rate_limits.json.</summary>
    decimal DefaultMonthlyLimitUsd { get; }
}

public sealed record FeatureSeed(
    IReadOnlyList<string> ConfigDocuments,
    string ActiveVersion,
    IReadOnlyDictionary<string, string> Prompts);
