namespace Navigator.Grains.PromptConfig;

/// <summary>
/// Versioned feature config and prompt templates for one feature (key: feature name). Published
/// versions are immutable; the "active" label moves on activation and rollback. Every change is
/// audited and pushed to subscribed API replicas.
/// </summary>
[Alias("Navigator.IPromptConfigGrain")]
public interface IPromptConfigGrain : IGrainWithStringKey
{
    /// <summary>The active feature version with its prompt texts, as one immutable snapshot; null when nothing is active.</summary>
    [Alias("GetActive"), ReadOnly]
    Task<FeatureSnapshot?> GetActiveAsync();

    [Alias("GetOverview"), ReadOnly]
    Task<FeatureOverview> GetOverviewAsync();

    /// <summary>
    /// A snapshot made of published versions: <paramref name="featureVersion"/> (or the active one) with its
    /// prompts, or with the given system and user prompt versions instead. Errors (pointers
    /// /featureVersion, /systemPromptVersion, /userPromptVersion, /variables) name a version that is not
    /// published or templates whose variables do not match what the feature version supplies.
    /// </summary>
    [Alias("Resolve"), ReadOnly]
    Task<ResolvedSnapshot> ResolveAsync(string? featureVersion, string? systemPromptVersion, string? userPromptVersion);

    /// <summary>Publishes a prompt template version ("system" or "user"). Re-publishing identical text is a no-op.</summary>
    [Alias("PublishPrompt")]
    Task<ChangeResult> PublishPromptAsync(string kind, string version, string text, string actor);

    /// <summary>Validates and publishes a feature config document; optionally moves the active label to it.</summary>
    [Alias("PublishFeature")]
    Task<ChangeResult> PublishFeatureAsync(string document, bool activate, string actor, string? reason);

    /// <summary>Makes every cached answer of the feature unreachable (cluster-wide, as the new snapshot reaches each replica); audited.</summary>
    [Alias("PurgeCache")]
    Task<ChangeResult> PurgeCacheAsync(string actor, string reason);

    /// <summary>Moves the active label to a published version.</summary>
    [Alias("Activate")]
    Task<ChangeResult> ActivateAsync(string version, string actor, string reason);

    /// <summary>Moves the active label back to the previously active version, or to <paramref name="toVersion"/>.</summary>
    [Alias("Rollback")]
    Task<ChangeResult> RollbackAsync(string? toVersion, string actor, string reason);

    /// <summary>Subscribes (or renews) an observer that is told of every change of the active snapshot. Subscriptions expire unless renewed.</summary>
    [Alias("Subscribe")]
    Task SubscribeAsync(IFeatureConfigObserver observer);

    [Alias("Unsubscribe")]
    Task UnsubscribeAsync(IFeatureConfigObserver observer);
}

/// <summary>Implemented by API replicas to receive config changes by push.</summary>
[Alias("Navigator.IFeatureConfigObserver")]
public interface IFeatureConfigObserver : IGrainObserver
{
    [Alias("OnActiveChanged"), OneWay]
    Task OnActiveChangedAsync(FeatureSnapshot snapshot);
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
    [property: Id(7)] long Revision,
    // Part of every response-cache key: bumped by a cache purge.
    [property: Id(8)] long CacheGeneration = 0);

/// <summary>A snapshot of pinned versions, or why it cannot be made.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.ResolvedSnapshot")]
public sealed record ResolvedSnapshot(
    [property: Id(0)] FeatureSnapshot? Snapshot,
    [property: Id(1)] IReadOnlyList<ValidationError> Errors);

/// <summary>The runtime parameters of a feature version.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.FeatureSettings")]
public sealed record FeatureSettings(
    [property: Id(0)] string? ExperimentId,
    [property: Id(1)] int RecommendationCount,
    [property: Id(2)] int MaxInputTokens,
    [property: Id(3)] int MaxOutputTokens,
    [property: Id(4)] int TargetOutputTokens,
    [property: Id(5)] IReadOnlyDictionary<string, ProviderModelSettings> Providers,
    // The version's cache settings; null: cached with the gateway's defaults.
    [property: Id(6)] FeatureCacheSettings? Cache = null);

/// <summary>A feature version's response caching; a null TTL or stale window takes the gateway's default (cache section of appsettings).</summary>
[GenerateSerializer, Immutable, Alias("Navigator.FeatureCacheSettings")]
public sealed record FeatureCacheSettings(
    [property: Id(0)] bool Enabled,
    [property: Id(1)] int? TtlSeconds,
    [property: Id(2)] int? StaleSeconds);

/// <summary>Model parameters for one provider within a feature version.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.ProviderModelSettings")]
public sealed record ProviderModelSettings(
    [property: Id(0)] string Model,
    [property: Id(1)] float Temperature,
    [property: Id(2)] int MaxOutputTokens);

[GenerateSerializer]
public enum ChangeOutcome
{
    /// <summary>State changed.</summary>
    Applied = 0,
    /// <summary>Nothing to do: the same content is already published, or the version is already active.</summary>
    Unchanged = 1,
    /// <summary>The input failed validation; see the errors.</summary>
    Invalid = 2,
    /// <summary>The version exists with different content, or there is no previous version to roll back to.</summary>
    Conflict = 3,
    /// <summary>The version named does not exist.</summary>
    NotFound = 4,
}

/// <summary>One validation error, located by a JSON pointer into the submitted document.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.ValidationError")]
public sealed record ValidationError(
    [property: Id(0)] string Pointer,
    [property: Id(1)] string Message);

[GenerateSerializer, Immutable, Alias("Navigator.ChangeResult")]
public sealed record ChangeResult(
    [property: Id(0)] ChangeOutcome Outcome,
    [property: Id(1)] string? Message,
    [property: Id(2)] IReadOnlyList<ValidationError> Errors,
    [property: Id(3)] string? ActiveVersion)
{
    public bool Succeeded => Outcome is ChangeOutcome.Applied or ChangeOutcome.Unchanged;
}

[GenerateSerializer, Immutable, Alias("Navigator.FeatureVersionInfo")]
public sealed record FeatureVersionInfo(
    [property: Id(0)] string Version,
    [property: Id(1)] string SystemPromptVersion,
    [property: Id(2)] string UserPromptVersion,
    [property: Id(3)] DateTimeOffset PublishedAt,
    [property: Id(4)] string PublishedBy,
    [property: Id(5)] string Document);

[GenerateSerializer, Immutable, Alias("Navigator.AuditEntry")]
public sealed record AuditEntry(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Actor,
    [property: Id(2)] string Action,
    [property: Id(3)] string? From,
    [property: Id(4)] string? To,
    [property: Id(5)] string? Reason);

[GenerateSerializer, Immutable, Alias("Navigator.FeatureOverview")]
public sealed record FeatureOverview(
    [property: Id(0)] string Feature,
    [property: Id(1)] string? ActiveVersion,
    [property: Id(2)] IReadOnlyDictionary<string, string> Labels,
    [property: Id(3)] IReadOnlyList<FeatureVersionInfo> Versions,
    [property: Id(4)] IReadOnlyList<string> Prompts,
    [property: Id(5)] IReadOnlyList<string> ActivationHistory,
    [property: Id(6)] IReadOnlyList<AuditEntry> Audit,
    [property: Id(7)] long Revision);
