using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Navigator.Grains.Seed;
using Orleans.Serialization;
using Orleans.Utilities;

namespace Navigator.Grains.PromptConfig;

public sealed partial class PromptConfigGrain : Grain, IPromptConfigGrain
{
    public const string ActiveLabel = "active";

    /// <summary>Subscriptions not renewed within this time are dropped.</summary>
    public static readonly TimeSpan ObserverExpiry = TimeSpan.FromSeconds(60);

    /// <summary>How many audit entries are kept in grain state.</summary>
    public const int AuditCapacity = 1000;

    /// <summary>Activations remembered for a rollback that names no version.</summary>
    public const int ActivationHistoryCapacity = 100;

    private readonly IPersistentState<PromptConfigState> _state;
    private readonly ISeedSource _seed;
    private readonly FeatureConfigValidator _validator;
    private readonly TimeProvider _time;
    private readonly ILogger<PromptConfigGrain> _logger;
    private readonly ObserverManager<IFeatureConfigObserver> _observers;
    private readonly DeepCopier<PromptConfigState> _copier;

    // The state as storage last held it, taken when a change begins: restored if the change's write fails.
    private PromptConfigState? _saved;

    public PromptConfigGrain(
        [PersistentState("promptConfig", "config")] IPersistentState<PromptConfigState> state,
        ISeedSource seed,
        FeatureConfigValidator validator,
        [FromKeyedServices(LedgerClock.Key)] TimeProvider time,
        DeepCopier<PromptConfigState> copier,
        ILogger<PromptConfigGrain> logger)
    {
        _copier = copier;
        _state = state;
        _seed = seed;
        _validator = validator;
        _time = time;
        _logger = logger;
        _observers = new ObserverManager<IFeatureConfigObserver>(ObserverExpiry, logger);
    }

    private string Feature => this.GetPrimaryKeyString();
    private PromptConfigState State => _state.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!_state.RecordExists && _seed.LoadFeature(Feature) is { } seed)
        {
            await SeedAsync(seed);
        }
    }

    public Task<FeatureSnapshot?> GetActiveAsync() => Task.FromResult(ActiveSnapshot());

    public Task<FeatureOverview> GetOverviewAsync() => Task.FromResult(new FeatureOverview(
        Feature,
        State.Labels.GetValueOrDefault(ActiveLabel),
        new Dictionary<string, string>(State.Labels),
        State.Versions.Values
            .OrderBy(v => SemVer(v.Version))
            .Select(v => new FeatureVersionInfo(v.Version, v.SystemPromptVersion, v.UserPromptVersion, v.PublishedAt, v.PublishedBy, v.Document))
            .ToList(),
        State.Prompts.Keys.Order(StringComparer.Ordinal).ToList(),
        [.. State.ActivationHistory],
        [.. State.Audit],
        State.Revision));

    public async Task<ChangeResult> PublishPromptAsync(string kind, string version, string text, string actor)
    {
        BeginChange();
        var errors = FeatureConfigValidator.ValidatePrompt(kind, version, text);
        if (errors.Count > 0)
        {
            return Result(ChangeOutcome.Invalid, "The prompt template is not valid.", errors);
        }

        var key = PromptKey.For(kind, version);
        if (State.Prompts.TryGetValue(key, out var existing))
        {
            return existing == text
                ? Result(ChangeOutcome.Unchanged, $"Prompt {key} is already published with this text.")
                : Result(ChangeOutcome.Conflict, $"Prompt {key} is already published with different text; published versions are immutable. Publish a new version.");
        }

        if (TooBig(key.Length + text.Length) is { } full)
        {
            return full;
        }

        State.Prompts[key] = text;
        Audit(actor, "publish-prompt", null, key, null);
        await CommitAsync();
        LogPublished(Feature, key, actor);
        return Result(ChangeOutcome.Applied, $"Published prompt {key}.");
    }

    public async Task<ChangeResult> PublishFeatureAsync(string document, bool activate, string actor, string? reason)
    {
        BeginChange();
        var (parsed, errors) = _validator.Validate(Feature, document, State.Prompts);
        if (parsed is null)
        {
            return Result(ChangeOutcome.Invalid, "The feature config is not valid.", errors);
        }

        if (State.Versions.TryGetValue(parsed.Version, out var existing))
        {
            if (!JsonNode.DeepEquals(JsonNode.Parse(existing.Document), JsonNode.Parse(document)))
            {
                return Result(ChangeOutcome.Conflict, $"Version {parsed.Version} is already published with different content; published versions are immutable. Publish a new version number.");
            }

            return activate && State.Labels.GetValueOrDefault(ActiveLabel) != parsed.Version
                ? await MoveActiveAsync(parsed.Version, actor, "activate", reason)
                : Result(ChangeOutcome.Unchanged, $"Version {parsed.Version} is already published with this content.");
        }

        if (TooBig(document.Length + 200) is { } full)
        {
            return full;
        }

        State.Versions[parsed.Version] = new FeatureVersionRecord(
            parsed.Version, parsed.Prompts.System, parsed.Prompts.User, parsed.ToSettings(), document, _time.GetUtcNow(), actor);
        Audit(actor, "publish", null, parsed.Version, reason);
        LogPublished(Feature, parsed.Version, actor);
        if (activate)
        {
            return await MoveActiveAsync(parsed.Version, actor, "activate", reason);
        }

        State.Revision++;
        await CommitAsync();
        return Result(ChangeOutcome.Applied, $"Published {parsed.Version}.");
    }

    public async Task<ChangeResult> ActivateAsync(string version, string actor, string reason)
    {
        BeginChange();
        if (!State.Versions.ContainsKey(version))
        {
            return Result(ChangeOutcome.NotFound, $"Version {version} is not published.");
        }

        return State.Labels.GetValueOrDefault(ActiveLabel) == version
            ? Result(ChangeOutcome.Unchanged, $"Version {version} is already active.")
            : await MoveActiveAsync(version, actor, "activate", reason);
    }

    public async Task<ChangeResult> RollbackAsync(string? toVersion, string actor, string reason)
    {
        BeginChange();
        var current = State.Labels.GetValueOrDefault(ActiveLabel);
        if (toVersion is not null)
        {
            if (!State.Versions.ContainsKey(toVersion))
            {
                return Result(ChangeOutcome.NotFound, $"Version {toVersion} is not published.");
            }

            return toVersion == current
                ? Result(ChangeOutcome.Unchanged, $"Version {toVersion} is already active.")
                : await MoveActiveAsync(toVersion, actor, "rollback", reason);
        }

        // The previous active version is the one below the current one in the activation history.
        var history = State.ActivationHistory;
        if (history.Count < 2)
        {
            return Result(ChangeOutcome.Conflict, "There is no previously active version to roll back to; name one with toVersion.");
        }

        var previous = history[^2];
        history.RemoveAt(history.Count - 1);
        return await MoveActiveAsync(previous, actor, "rollback", reason, recordInHistory: false);
    }

    public async Task<ChangeResult> PurgeCacheAsync(string actor, string reason)
    {
        BeginChange();
        if (State.Versions.Count == 0)
        {
            return Result(ChangeOutcome.NotFound, $"Feature {Feature} has no published version.");
        }

        var from = State.CacheGeneration;
        State.CacheGeneration++;
        State.Revision++;
        Audit(actor, "purge-cache", from.ToString(CultureInfo.InvariantCulture), State.CacheGeneration.ToString(CultureInfo.InvariantCulture), reason);
        await CommitAsync();
        if (ActiveSnapshot() is { } snapshot)
        {
            await _observers.Notify(o => o.OnActiveChangedAsync(snapshot));
        }

        return Result(ChangeOutcome.Applied, $"Cached answers of {Feature} purged (cache generation {State.CacheGeneration}).");
    }

    public Task SubscribeAsync(IFeatureConfigObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(IFeatureConfigObserver observer)
    {
        _observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    private async Task<ChangeResult> MoveActiveAsync(string version, string actor, string action, string? reason, bool recordInHistory = true)
    {
        var from = State.Labels.GetValueOrDefault(ActiveLabel);
        State.Labels[ActiveLabel] = version;
        if (recordInHistory)
        {
            State.ActivationHistory.Add(version);
            if (State.ActivationHistory.Count > ActivationHistoryCapacity)
            {
                State.ActivationHistory.RemoveAt(0); // bounded: rollback without a version goes back this far at most
            }
        }

        State.Revision++;
        Audit(actor, action, from, version, reason);
        await CommitAsync();
        LogActivated(Feature, from, version, actor, action);

        // Push to every subscribed replica; the observer method is one-way, so nobody waits on a slow replica.
        if (ActiveSnapshot() is { } snapshot)
        {
            await _observers.Notify(o => o.OnActiveChangedAsync(snapshot));
        }

        return Result(ChangeOutcome.Applied, $"{version} is active (was {from ?? "none"}).");
    }

    public Task<ResolvedSnapshot> ResolveAsync(string? featureVersion, string? systemPromptVersion, string? userPromptVersion)
    {
        var errors = new List<ValidationError>();
        var baseVersion = featureVersion ?? State.Labels.GetValueOrDefault(ActiveLabel);
        if (baseVersion is null || !State.Versions.TryGetValue(baseVersion, out var version))
        {
            errors.Add(new ValidationError("/featureVersion", featureVersion is null
                ? $"Feature {Feature} has no active version."
                : $"Feature version {featureVersion} of {Feature} is not published."));
            return Task.FromResult(new ResolvedSnapshot(null, errors));
        }

        var system = Prompt("system", systemPromptVersion ?? version.SystemPromptVersion, "/systemPromptVersion", errors);
        var user = Prompt("user", userPromptVersion ?? version.UserPromptVersion, "/userPromptVersion", errors);
        if (system is null || user is null)
        {
            return Task.FromResult(new ResolvedSnapshot(null, errors));
        }

        // The templates must use exactly the variables the feature version supplies, as at publication.
        var supplied = FeatureConfigDocument.Parse(version.Document).Variables.ToHashSet(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var text in new[] { system, user })
        {
            if (TemplateVariables.TryGetVariables(text, out var variables, out _))
            {
                used.UnionWith(variables);
            }
        }

        if (!used.SetEquals(supplied))
        {
            errors.Add(new ValidationError("/variables",
                $"The templates use {{{string.Join(", ", used.Order(StringComparer.Ordinal))}}} but feature version {version.Version} supplies " +
                $"{{{string.Join(", ", supplied.Order(StringComparer.Ordinal))}}}."));
            return Task.FromResult(new ResolvedSnapshot(null, errors));
        }

        return Task.FromResult(new ResolvedSnapshot(
            new FeatureSnapshot(Feature, version.Version, systemPromptVersion ?? version.SystemPromptVersion, system,
                userPromptVersion ?? version.UserPromptVersion, user, version.Settings, State.Revision, State.CacheGeneration),
            []));

        string? Prompt(string kind, string promptVersion, string pointer, List<ValidationError> problems)
        {
            if (State.Prompts.TryGetValue(PromptKey.For(kind, promptVersion), out var text))
            {
                return text;
            }

            problems.Add(new ValidationError(pointer, $"Prompt {kind}/{promptVersion} of {Feature} is not published."));
            return null;
        }
    }

    private FeatureSnapshot? ActiveSnapshot()
    {
        if (!State.Labels.TryGetValue(ActiveLabel, out var active))
        {
            return null;
        }

        var version = State.Versions[active];
        return new FeatureSnapshot(
            Feature,
            version.Version,
            version.SystemPromptVersion,
            State.Prompts[PromptKey.For("system", version.SystemPromptVersion)],
            version.UserPromptVersion,
            State.Prompts[PromptKey.For("user", version.UserPromptVersion)],
            version.Settings,
            State.Revision,
            State.CacheGeneration);
    }

    /// <summary>First activation: publish the repository's prompts and feature versions through the same checks as the admin API.</summary>
    private async Task SeedAsync(FeatureSeed seed)
    {
        foreach (var (key, text) in seed.Prompts.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var parts = key.Split('/');
            Require(await PublishPromptAsync(parts[0], parts[1], text, "seed"), key);
        }

        foreach (var document in seed.ConfigDocuments)
        {
            Require(await PublishFeatureAsync(document, activate: false, "seed", "Seeded from the repository."), "a feature config");
        }

        Require(await ActivateAsync(seed.ActiveVersion, "seed", "Seeded from the repository."), seed.ActiveVersion);
        LogSeeded(Feature, seed.ActiveVersion, State.Versions.Count);

        static void Require(ChangeResult result, string what)
        {
            if (!result.Succeeded)
            {
                throw new InvalidOperationException(
                    $"Seeding {what} failed: {result.Message} {string.Join("; ", result.Errors.Select(e => $"{e.Pointer} {e.Message}"))}");
            }
        }
    }

    private void BeginChange() => _saved = _copier.Copy(State);

    /// <summary>
    /// Writes the change. If the write fails, the change is undone in memory and the state re-read when
    /// storage answers: replicas are never served a version that was never saved, and the ETag stays the
    /// stored one, so the next change can be written.
    /// </summary>
    private async Task CommitAsync()
    {
        try
        {
            await _state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            _state.State = _saved!;
            LogWriteFailed(Feature, ex);
            try
            {
                await _state.ReadStateAsync();
            }
            catch (Exception readFailure)
            {
                // Storage is still down: the restored copy is what it last held.
                LogWriteFailed(Feature, readFailure);
            }

            throw;
        }
    }

    /// <summary>
    /// An Azure Table row holds at most 1 MB. Prompt texts and documents dominate the state; the audit log
    /// is capped at <see cref="AuditCapacity"/> entries with reasons of at most 200 characters.
    /// </summary>
    public const int MaxStateBytes = 800_000;

    /// <summary>About what the state takes in storage (strings are written as UTF-8, mostly ASCII here).</summary>
    private long StateBytes() =>
        State.Prompts.Sum(p => (long)p.Key.Length + p.Value.Length)
        + State.Versions.Values.Sum(v => (long)v.Document.Length + 200)
        + State.Audit.Sum(a => 100L + (a.Reason?.Length ?? 0) + a.Actor.Length);

    private ChangeResult? TooBig(int adding) => StateBytes() + adding > MaxStateBytes
        ? Result(ChangeOutcome.Invalid, $"Feature {Feature} cannot store more versions or prompts (over {MaxStateBytes:N0} bytes); nothing was changed.",
            [new ValidationError("", "The feature's stored versions and prompts are full.")])
        : null;

    private void Audit(string actor, string action, string? from, string? to, string? reason)
    {
        State.Audit.Add(new AuditEntry(_time.GetUtcNow(), actor, action, from, to, reason));
        if (State.Audit.Count > AuditCapacity)
        {
            State.Audit.RemoveRange(0, State.Audit.Count - AuditCapacity);
        }
    }

    private ChangeResult Result(ChangeOutcome outcome, string message, IReadOnlyList<ValidationError>? errors = null) =>
        new(outcome, message, errors ?? [], State.Labels.GetValueOrDefault(ActiveLabel));

    private static Version SemVer(string version) => System.Version.TryParse(version, out var v) ? v : new Version(0, 0);

    [LoggerMessage(Level = LogLevel.Error, Message = "Feature {Feature}: storage write failed; the change was undone")]
    private partial void LogWriteFailed(string feature, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Seeded feature {Feature}: active {Version}, {Count} versions")]
    private partial void LogSeeded(string feature, string version, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Feature {Feature}: published {What} by {Actor}")]
    private partial void LogPublished(string feature, string what, string actor);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Feature {Feature}: active {From} -> {To} by {Actor} ({Action})")]
    private partial void LogActivated(string feature, string? from, string to, string actor, string action);
}

