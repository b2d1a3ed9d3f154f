using Microsoft.Extensions.DependencyInjection;
using Navigator.Grains.PromptConfig;
using Navigator.Grains.Seed;

namespace Navigator.Grains.Experiments;

[GenerateSerializer, Alias("Navigator.ExperimentState")]
public sealed class ExperimentState
{
    [Id(0)] public ExperimentDefinition? Definition { get; set; }

    /// <summary>The last <see cref="ExperimentGrain.AuditCapacity"/> changes.</summary>
    [Id(1)] public List<ExperimentAuditEntry> Audit { get; set; } = [];

    /// <summary>What each variant's requests did: fixed-size sums per variant.</summary>
    [Id(2)] public Dictionary<string, VariantTally> Tallies { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The last batch stored from each replica (replicas silent for a day are forgotten).</summary>
    [Id(3)] public Dictionary<string, ReplicaReport> Reports { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer, Immutable, Alias("Navigator.ReplicaReport")]
public sealed record ReplicaReport([property: Id(0)] long Sequence, [property: Id(1)] DateTimeOffset At);

/// <summary>
/// One experiment (key: its id): the definition, its status and its audit log. Every change is recorded
/// in <see cref="IExperimentCatalogGrain"/>, which replicas poll; the catalog also keeps a feature to one
/// running experiment. State is bounded: one definition (at most 10 variants, each with at most a few
/// bucket ranges per allocation) and the last 200 audit entries.
/// </summary>
public sealed class ExperimentGrain(
    [PersistentState("experiment", "config")] IPersistentState<ExperimentState> state,
    ISeedSource seed,
    [FromKeyedServices(LedgerClock.Key)] TimeProvider time) : Grain, IExperimentGrain
{
    public const int AuditCapacity = 200;

    private string Id => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!state.RecordExists)
        {
            var definition = seed.LoadExperiment(Id);
            if (definition is not null)
            {
                state.State.Definition = definition;
                Audit("seed", "create", $"{definition.Status}, from config/ab_test_config.json", null);
                await state.WriteStateAsync();
            }
        }
        else if (state.State.Definition is { IsRunning: true } stored && stored.Variants.All(v => v.Buckets.Count == 0))
        {
            // Stored before variants owned bucket ranges: a fresh allocation at its weights gives every user
            // the variant the old weight-proportional assignment gave them (but for a bucket at a boundary
            // when the weights do not divide 10,000).
            state.State.Definition = stored with { Variants = BucketAllocator.Allocate(stored.Variants, stored.Coverage) };
            await state.WriteStateAsync();
        }
    }

    public Task<ExperimentDefinition?> GetDefinitionAsync() => Task.FromResult(state.State.Definition);

    public Task<ExperimentView?> GetAsync() =>
        Task.FromResult(state.State.Definition is { } definition ? new ExperimentView(definition, [.. state.State.Audit]) : null);

    public async Task<ExperimentResult> CreateAsync(ExperimentDefinition draft, string actor)
    {
        if (state.State.Definition is not null)
        {
            return Result(ExperimentOutcome.Conflict, $"Experiment {Id} already exists; ids are never reused.");
        }

        var start = draft.Status == ExperimentDefinition.Running;
        draft = draft with { Id = Id, Status = ExperimentDefinition.Draft, Revision = 1 };
        var errors = ExperimentRules.Validate(draft);
        if (errors.Count == 0)
        {
            errors.AddRange(await ResolveVariantsAsync(draft));
        }

        if (errors.Count > 0)
        {
            return new ExperimentResult(ExperimentOutcome.Invalid, "The experiment definition is not valid.", errors, null);
        }

        if (start)
        {
            draft = draft with { Status = ExperimentDefinition.Running, Variants = BucketAllocator.Allocate(draft.Variants, draft.Coverage) };
        }

        state.State.Definition = draft;
        Audit(actor, "create", $"{draft.Status}: {draft.Variants.Count} variants on {draft.Feature}, coverage {draft.Coverage:0.####}", null);
        return await CommitAsync(previous: null, start ? "Created and started." : "Created as a draft; start it to assign users.");
    }

    public async Task<ExperimentResult> UpdateAsync(ExperimentUpdate update, string actor)
    {
        if (state.State.Definition is not { } current)
        {
            return NotFound();
        }

        if (current.Status == ExperimentDefinition.Stopped)
        {
            return Result(ExperimentOutcome.Conflict, $"Experiment {Id} is stopped; a stopped experiment does not change.");
        }

        var errors = new List<ValidationError>();
        if (update.Weights is { } weights)
        {
            ExperimentRules.ValidateWeights(current.Variants, weights, errors);
        }

        var assigning = current.Status is ExperimentDefinition.Running or ExperimentDefinition.Paused;
        if (update.Coverage is { } coverage && assigning && coverage < current.Coverage)
        {
            errors.Add(new("/coverage", $"Coverage can only rise while the experiment assigns users ({current.Coverage:0.####} now): lowering it would move users out."));
        }

        var next = current with
        {
            Coverage = update.Coverage ?? current.Coverage,
            Description = update.Description ?? current.Description,
            Guardrails = update.Guardrails ?? current.Guardrails,
            MinimumSamplePerVariant = update.MinimumSamplePerVariant ?? current.MinimumSamplePerVariant,
            Variants = [.. current.Variants.Select(v => v with { Weight = update.Weights?.GetValueOrDefault(v.Id, v.Weight) ?? v.Weight })],
        };
        // The shape rules look at a draft's variants; an assigning experiment's variants hold buckets by now.
        errors.AddRange(ExperimentRules.Validate(next with { Variants = [.. next.Variants.Select(v => v with { Buckets = [] })] })
            .Where(e => !errors.Any(x => x.Pointer == e.Pointer)));
        if (errors.Count > 0)
        {
            return new ExperimentResult(ExperimentOutcome.Invalid, "The change is not valid; nothing changed.", errors, current);
        }

        var same = next.Coverage == current.Coverage && next.Description == current.Description
            && next.MinimumSamplePerVariant == current.MinimumSamplePerVariant
            && next.Guardrails.OrderBy(g => g.Key).SequenceEqual(current.Guardrails.OrderBy(g => g.Key))
            && next.Variants.Select(v => v.Weight).SequenceEqual(current.Variants.Select(v => v.Weight));
        if (same)
        {
            return Result(ExperimentOutcome.Unchanged, "Nothing to change.", current);
        }

        if (assigning)
        {
            next = next with { Variants = BucketAllocator.Allocate(next.Variants, next.Coverage) };
        }

        state.State.Definition = next with { Revision = current.Revision + 1 };
        Audit(actor, "update", Describe(current, next), update.Reason);
        return await CommitAsync(current, "Updated; users already assigned keep their variant.");
    }

    public async Task<ExperimentResult> TransitionAsync(string action, string actor, string? reason)
    {
        if (state.State.Definition is not { } current)
        {
            return NotFound();
        }

        var (allowed, status) = (action, current.Status) switch
        {
            ("start", ExperimentDefinition.Draft or ExperimentDefinition.Paused) => (true, ExperimentDefinition.Running),
            ("pause", ExperimentDefinition.Running) => (true, ExperimentDefinition.Paused),
            ("stop", not ExperimentDefinition.Stopped) => (true, ExperimentDefinition.Stopped),
            _ => (false, current.Status),
        };
        if (!allowed)
        {
            return Result(ExperimentOutcome.Conflict, $"Experiment {Id} is {current.Status}: it cannot {action}.", current);
        }

        var next = current with { Status = status, Revision = current.Revision + 1 };
        if (status == ExperimentDefinition.Running)
        {
            // Published versions never change, but check again before any user is assigned: a draft made
            // by an older gateway may not have been checked.
            var errors = await ResolveVariantsAsync(next);
            if (errors.Count > 0)
            {
                return new ExperimentResult(ExperimentOutcome.Invalid, "The experiment cannot start.", errors, current);
            }

            next = next with { Variants = BucketAllocator.Allocate(next.Variants, next.Coverage) };
        }

        state.State.Definition = next;
        Audit(actor, action, $"{current.Status} -> {status}", reason);
        return await CommitAsync(current, $"Experiment {Id} is {status}.");
    }

    public async Task RecordAsync(TallyBatch batch)
    {
        if (state.State.Definition is null
            || (state.State.Reports.TryGetValue(batch.ReplicaId, out var last) && batch.Sequence <= last.Sequence))
        {
            return;
        }

        foreach (var (variant, tally) in batch.Variants)
        {
            if (state.State.Definition.Variants.Any(v => v.Id == variant))
            {
                state.State.Tallies.TryAdd(variant, new VariantTally());
                state.State.Tallies[variant].Merge(tally);
            }
        }

        var now = time.GetUtcNow();
        state.State.Reports[batch.ReplicaId] = new ReplicaReport(batch.Sequence, now);
        foreach (var silent in state.State.Reports.Where(r => now - r.Value.At > TimeSpan.FromDays(1)).Select(r => r.Key).ToList())
        {
            state.State.Reports.Remove(silent);
        }

        // Not stored: the activation goes, so the replica's retry of this batch counts it once.
        await this.WriteOrDeactivateAsync(state);
    }

    public Task<ExperimentTallies?> GetTalliesAsync() => Task.FromResult(state.State.Definition is { } definition
        ? new ExperimentTallies(definition, state.State.Tallies.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal))
        : null);

    /// <summary>
    /// Claims the catalog entry first (it refuses a second running experiment on a feature), then writes. The change is
    /// already live in this activation: on a refusal or any failure the activation goes, and the next call reloads what
    /// storage holds (with its audit log whole). A failed write also puts the catalog entry back.
    /// </summary>
    private async Task<ExperimentResult> CommitAsync(ExperimentDefinition? previous, string message)
    {
        var catalog = GrainFactory.GetGrain<IExperimentCatalogGrain>(IExperimentCatalogGrain.Key);
        var next = state.State.Definition!;
        CatalogRefusal? refused;
        try
        {
            refused = await catalog.UpsertAsync(Summary(next));
        }
        catch
        {
            this.DeactivateOnIdle();
            throw;
        }

        if (refused is not null)
        {
            this.DeactivateOnIdle();
            return new ExperimentResult(ExperimentOutcome.Invalid, "The change is refused; nothing changed.", [new ValidationError(refused.Pointer, refused.Message)], previous);
        }

        try
        {
            await this.WriteOrDeactivateAsync(state);
        }
        catch
        {
            await (previous is null ? catalog.RemoveAsync(Id) : catalog.UpsertAsync(Summary(previous)));
            throw;
        }

        return Result(ExperimentOutcome.Applied, message, next);
    }

    private async Task<List<ValidationError>> ResolveVariantsAsync(ExperimentDefinition definition)
    {
        var config = GrainFactory.GetGrain<IPromptConfigGrain>(definition.Feature!);
        var errors = new List<ValidationError>();
        var feature = await config.ResolveAsync(null, null, null);
        if (feature.Snapshot is null)
        {
            errors.Add(new("/feature", $"Feature {definition.Feature} has no active version."));
            return errors;
        }

        for (var i = 0; i < definition.Variants.Count; i++)
        {
            var variant = definition.Variants[i];
            if (variant.PinsVersions)
            {
                var resolved = await config.ResolveAsync(variant.FeatureVersion, variant.SystemPromptVersion, variant.UserPromptVersion);
                errors.AddRange(resolved.Errors.Select(e => e with { Pointer = $"/variants/{i}{e.Pointer}" }));
            }
        }

        return errors;
    }

    private ExperimentSummary Summary(ExperimentDefinition definition) =>
        new(Id, definition.Feature, definition.Status, definition.Revision, time.GetUtcNow());

    private void Audit(string actor, string action, string? detail, string? reason)
    {
        state.State.Audit.Add(new ExperimentAuditEntry(time.GetUtcNow(), actor, action, detail, reason));
        if (state.State.Audit.Count > AuditCapacity)
        {
            state.State.Audit.RemoveRange(0, state.State.Audit.Count - AuditCapacity);
        }
    }

    private static string Describe(ExperimentDefinition from, ExperimentDefinition to)
    {
        var parts = new List<string>();
        if (from.Coverage != to.Coverage)
        {
            parts.Add($"coverage {from.Coverage:0.####} -> {to.Coverage:0.####}");
        }

        foreach (var (before, after) in from.Variants.Zip(to.Variants).Where(p => p.First.Weight != p.Second.Weight))
        {
            parts.Add($"{before.Id} weight {before.Weight} -> {after.Weight}");
        }

        return parts.Count > 0 ? string.Join(", ", parts) : "settings";
    }

    private ExperimentResult NotFound() => Result(ExperimentOutcome.NotFound, $"No experiment has the id {Id}.");

    private static ExperimentResult Result(ExperimentOutcome outcome, string message, ExperimentDefinition? definition = null) =>
        new(outcome, message, [], definition);
}
