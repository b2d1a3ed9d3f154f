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

    /// <summary>The definition and its audit log, or null when no experiment has this id.</summary>
    [Alias("Get"), ReadOnly]
    Task<ExperimentView?> GetAsync();

    /// <summary>
    /// Creates the experiment as a draft, or running when <paramref name="draft"/>'s status is running. Conflict
    /// when the id is taken; Invalid with pointers when the definition is bad (nothing is then written).
    /// </summary>
    [Alias("Create")]
    Task<ExperimentResult> CreateAsync(ExperimentDefinition draft, string actor);

    /// <summary>
    /// Changes coverage, weights and the decision settings. A running or paused experiment may only raise its
    /// coverage, and new weights apply to buckets handed out from then on: no user moves.
    /// </summary>
    [Alias("Update")]
    Task<ExperimentResult> UpdateAsync(ExperimentUpdate update, string actor);

    /// <summary>start (from draft or paused), pause (from running) or stop (final).</summary>
    [Alias("Transition")]
    Task<ExperimentResult> TransitionAsync(string action, string actor, string? reason);

    /// <summary>
    /// Merges a replica's batch of per-variant tallies and returns once it is stored. A batch whose sequence the
    /// grain has already stored for that replica is acknowledged without counting it again (a retried send).
    /// </summary>
    [Alias("Record")]
    Task RecordAsync(TallyBatch batch);

    /// <summary>The definition and every variant's tallies so far.</summary>
    [Alias("GetTallies"), ReadOnly]
    Task<ExperimentTallies?> GetTalliesAsync();
}

/// <summary>One replica's counts for one experiment since its previous batch.</summary>
[GenerateSerializer, Alias("Navigator.TallyBatch")]
public sealed record TallyBatch(
    [property: Id(0)] string ReplicaId,
    [property: Id(1)] long Sequence,
    [property: Id(2)] IReadOnlyDictionary<string, VariantTally> Variants);

[GenerateSerializer, Alias("Navigator.ExperimentTallies")]
public sealed record ExperimentTallies(
    [property: Id(0)] ExperimentDefinition Definition,
    [property: Id(1)] IReadOnlyDictionary<string, VariantTally> Variants);

/// <summary>The index of every experiment (one grain, key "all"): which are running on which feature.</summary>
[Alias("Navigator.IExperimentCatalogGrain")]
public interface IExperimentCatalogGrain : IGrainWithStringKey
{
    const string Key = "all";

    /// <summary>Every experiment's summary, newest first. Replicas poll it and re-read a definition whose revision moved.</summary>
    [Alias("List"), ReadOnly]
    Task<IReadOnlyList<ExperimentSummary>> ListAsync();

    /// <summary>
    /// Records an experiment's summary. Refuses to mark one running while another runs on its feature, and to
    /// add an experiment when the catalog is full of experiments that have not stopped.
    /// </summary>
    [Alias("Upsert")]
    Task<CatalogRefusal?> UpsertAsync(ExperimentSummary summary);

    /// <summary>The cluster's key for signing request ids (made once, kept in the catalog's state), so feedback can name only real requests.</summary>
    [Alias("GetSigningKey"), ReadOnly]
    Task<byte[]> GetSigningKeyAsync();

    /// <summary>Forgets an experiment whose creation was not saved.</summary>
    [Alias("Remove")]
    Task RemoveAsync(string id);
}

/// <summary>Why the catalog refused a change: the experiment running on the feature, or a full catalog.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.CatalogRefusal")]
public sealed record CatalogRefusal([property: Id(0)] string Pointer, [property: Id(1)] string Message);

[GenerateSerializer, Immutable, Alias("Navigator.ExperimentSummary")]
public sealed record ExperimentSummary(
    [property: Id(0)] string Id,
    [property: Id(1)] string? Feature,
    [property: Id(2)] string Status,
    [property: Id(3)] long Revision,
    [property: Id(4)] DateTimeOffset UpdatedAt);

/// <summary>What may change on an experiment after it is created; null leaves a field as it is.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.ExperimentUpdate")]
public sealed record ExperimentUpdate(
    [property: Id(0)] double? Coverage,
    [property: Id(1)] IReadOnlyDictionary<string, int>? Weights,
    [property: Id(2)] string? Description,
    [property: Id(3)] IReadOnlyDictionary<string, double>? Guardrails,
    [property: Id(4)] int? MinimumSamplePerVariant,
    [property: Id(5)] string? Reason);

[GenerateSerializer, Immutable, Alias("Navigator.ExperimentAuditEntry")]
public sealed record ExperimentAuditEntry(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Actor,
    [property: Id(2)] string Action,
    [property: Id(3)] string? Detail,
    [property: Id(4)] string? Reason);

[GenerateSerializer, Immutable, Alias("Navigator.ExperimentView")]
public sealed record ExperimentView(
    [property: Id(0)] ExperimentDefinition Definition,
    [property: Id(1)] IReadOnlyList<ExperimentAuditEntry> Audit);

[GenerateSerializer, Alias("Navigator.ExperimentOutcome")]
public enum ExperimentOutcome
{
    Applied = 0,
    Unchanged = 1,
    Invalid = 2,
    Conflict = 3,
    NotFound = 4,
}

[GenerateSerializer, Immutable, Alias("Navigator.ExperimentResult")]
public sealed record ExperimentResult(
    [property: Id(0)] ExperimentOutcome Outcome,
    [property: Id(1)] string Message,
    [property: Id(2)] IReadOnlyList<PromptConfig.ValidationError> Errors,
    [property: Id(3)] ExperimentDefinition? Definition)
{
    public bool Succeeded => Outcome is ExperimentOutcome.Applied or ExperimentOutcome.Unchanged;
}

[GenerateSerializer, Immutable, Alias("Navigator.ExperimentDefinition")]
public sealed record ExperimentDefinition(
    [property: Id(0)] string Id,
    [property: Id(1)] string Status,
    [property: Id(2)] string Salt,
    [property: Id(3)] IReadOnlyList<ExperimentVariant> Variants)
{
    public const string Draft = "draft";
    public const string Running = "running";
    public const string Paused = "paused";
    public const string Stopped = "stopped";

    /// <summary>The feature whose requests enter the experiment.</summary>
    [Id(4)] public string? Feature { get; init; }

    /// <summary>The share of users who enter the experiment, in (0, 1].</summary>
    [Id(5)] public double Coverage { get; init; } = 1;

    [Id(6)] public string? Description { get; init; }

    /// <summary>What the experiment is decided on (e.g. thumbs_up_rate).</summary>
    [Id(7)] public string PrimaryMetric { get; init; } = "thumbs_up_rate";

    /// <summary>Guardrail metrics and the worst value each may reach (e.g. error_rate 0.05).</summary>
    [Id(8)] public IReadOnlyDictionary<string, double> Guardrails { get; init; } = new Dictionary<string, double>();

    /// <summary>No verdict before every variant has this many requests.</summary>
    [Id(9)] public int MinimumSamplePerVariant { get; init; } = 100;

    /// <summary>Bumped by every change; replicas re-read a definition when it moves.</summary>
    [Id(10)] public long Revision { get; init; }

    public bool IsRunning => Status == Running;

    /// <summary>The user's variant while the experiment runs; no variant when it does not, or when the user is outside its coverage.</summary>
    public VariantAssignment Assign(string userId)
    {
        var variant = IsRunning ? VariantAssigner.Pick(this, userId) : null;
        return new VariantAssignment(Id, variant?.Id, variant?.Provider);
    }
}

/// <summary>
/// A variant: its weight, what it pins (a provider and model, a feature version, or the system and user
/// prompt versions; null leaves the active version's choice), and the buckets it owns.
/// </summary>
[GenerateSerializer, Immutable, Alias("Navigator.ExperimentVariant")]
public sealed record ExperimentVariant(
    [property: Id(0)] string Id,
    [property: Id(1)] int Weight,
    [property: Id(2)] string? Provider)
{
    [Id(3)] public string? Model { get; init; }

    [Id(4)] public string? FeatureVersion { get; init; }

    [Id(5)] public string? SystemPromptVersion { get; init; }

    [Id(6)] public string? UserPromptVersion { get; init; }

    /// <summary>The assignment buckets this variant owns (see <see cref="BucketAllocator"/>).</summary>
    [Id(7)] public IReadOnlyList<BucketRange> Buckets { get; init; } = [];

    /// <summary>True when the variant pins a version: its requests use a snapshot of their own.</summary>
    public bool PinsVersions => FeatureVersion is not null || SystemPromptVersion is not null || UserPromptVersion is not null;
}

/// <summary>The result of an assignment. <see cref="VariantId"/> is null when the experiment is not running.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.VariantAssignment")]
public sealed record VariantAssignment(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] string? VariantId,
    [property: Id(2)] string? Provider);
