using System.Text.Json;
using System.Text.Json.Serialization;

namespace Navigator.Grains.PromptConfig;

/// <summary>The JSON shape of config/features/*.json (validated by config/schema/feature_config_schema.json).</summary>
public sealed class FeatureConfigDocument
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    public required string Feature { get; init; }
    public required string Version { get; init; }
    public string? Status { get; init; }
    public string? Description { get; init; }
    public string? Changelog { get; init; }
    public required PromptRefs Prompts { get; init; }
    public required IReadOnlyList<string> Variables { get; init; }
    public ParametersSection? Parameters { get; init; }
    public required LimitsSection Limits { get; init; }
    public required IReadOnlyDictionary<string, ProviderSection> Providers { get; init; }
    public string? Experiment { get; init; }
    public CacheSection? Cache { get; init; }

    public sealed record PromptRefs(string System, string User);
    public sealed record ParametersSection(int? RecommendationCount);
    public sealed record LimitsSection(int MaxInputTokens, int MaxOutputTokens, int? TargetOutputTokens);
    public sealed record ProviderSection(string Model, float? Temperature, int? MaxOutputTokens);
    public sealed record CacheSection(bool? Enabled, int? TtlSeconds, int? StaleSeconds);

    public static FeatureConfigDocument Parse(string json) =>
        JsonSerializer.Deserialize<FeatureConfigDocument>(json, JsonOptions)
        ?? throw new JsonException("The feature config is empty.");

    public FeatureSettings ToSettings() => new(
        Experiment,
        Parameters?.RecommendationCount ?? 3,
        Limits.MaxInputTokens,
        Limits.MaxOutputTokens,
        Limits.TargetOutputTokens ?? 500,
        Providers.ToDictionary(
            p => p.Key,
            p => new ProviderModelSettings(p.Value.Model, p.Value.Temperature ?? 0.4f, p.Value.MaxOutputTokens ?? Limits.MaxOutputTokens),
            StringComparer.Ordinal),
        Cache is null ? null : new FeatureCacheSettings(Cache.Enabled ?? true, Cache.TtlSeconds, Cache.StaleSeconds));
}
