namespace Navigator.Grains.PromptConfig;

[GenerateSerializer, Alias("Navigator.PromptConfigState")]
public sealed class PromptConfigState
{
    /// <summary>Published feature versions by semver. Immutable once added.</summary>
    [Id(0)] public Dictionary<string, FeatureVersionRecord> Versions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Published prompt texts by "kind/version" (e.g. "system/v2.1"). Immutable once added.</summary>
    [Id(1)] public Dictionary<string, string> Prompts { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Labels (e.g. "active") pointing at feature versions.</summary>
    [Id(2)] public Dictionary<string, string> Labels { get; set; } = new(StringComparer.Ordinal);

    [Id(3)] public List<AuditEntry> Audit { get; set; } = [];

    /// <summary>Bumped on every change, so replicas can tell snapshots apart.</summary>
    [Id(4)] public long Revision { get; set; }

    /// <summary>Active versions in the order they were activated; a plain rollback pops the last one.</summary>
    [Id(5)] public List<string> ActivationHistory { get; set; } = [];

    /// <summary>Part of every response-cache key of the feature: a purge bumps it, so no earlier answer is found again.</summary>
    [Id(6)] public long CacheGeneration { get; set; }
}

[GenerateSerializer, Immutable, Alias("Navigator.FeatureVersionRecord")]
public sealed record FeatureVersionRecord(
    [property: Id(0)] string Version,
    [property: Id(1)] string SystemPromptVersion,
    [property: Id(2)] string UserPromptVersion,
    [property: Id(3)] FeatureSettings Settings,
    [property: Id(4)] string Document,
    [property: Id(5)] DateTimeOffset PublishedAt,
    [property: Id(6)] string PublishedBy);
