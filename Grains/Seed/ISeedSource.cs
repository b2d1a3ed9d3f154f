namespace Navigator.Grains.Seed;

/// <summary>
/// The repo's config/ and prompts/ files, read once when a grain activates for the first time.
/// After that, grain state is the source of truth.
/// </summary>
public interface ISeedSource
{
    /// <summary>Feature config documents for a feature, and which of them is the active one.</summary>
    FeatureSeed? LoadFeature(string feature);

    /// <summary>The ids of the experiments in ab_test_config.json.</summary>
    IReadOnlyList<string> ExperimentIds();

    /// <summary>An experiment from ab_test_config.json, or null when none has that id.</summary>
    Experiments.ExperimentDefinition? LoadExperiment(string experimentId);

    /// <summary>The text of config/schema/feature_config_schema.json.</summary>
    string? LoadSchema();

    /// <summary>The "budget" section of rate_limits.json: what a new month's ledger starts with.</summary>
    BudgetPolicy LoadBudgetPolicy();
}

public sealed record FeatureSeed(
    IReadOnlyList<string> ConfigDocuments,
    string ActiveVersion,
    IReadOnlyDictionary<string, string> Prompts);

/// <summary>
/// A new month's budget: the hard limit, the daily pacing factor (a day may spend this many times
/// an even share of the month; 0 turns pacing off) and the spend ratios that raise alerts.
/// </summary>
public sealed record BudgetPolicy(decimal MonthlyLimitUsd = 5000m, decimal DailyPacingFactor = 3m, IReadOnlyList<decimal>? AlertThresholds = null)
{
    public static BudgetPolicy Default { get; } = new();

    public IReadOnlyList<decimal> Thresholds => AlertThresholds ?? [0.5m, 0.8m, 1.0m];
}
