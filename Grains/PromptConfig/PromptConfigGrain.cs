using Microsoft.Extensions.Logging;
using Navigator.Grains.Seed;

namespace Navigator.Grains.PromptConfig;

public sealed partial class PromptConfigGrain(
    [PersistentState("promptConfig", "config")] IPersistentState<PromptConfigState> state,
    ISeedSource seed,
    TimeProvider time,
    ILogger<PromptConfigGrain> logger) : Grain, IPromptConfigGrain
{
    public const string ActiveLabel = "active";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!state.RecordExists)
        {
            await SeedAsync();
        }
    }

    public Task<FeatureSnapshot> GetActiveAsync()
    {
        var feature = this.GetPrimaryKeyString();
        if (!state.State.Labels.TryGetValue(ActiveLabel, out var active))
        {
            throw new InvalidOperationException($"Feature '{feature}' has no active version.");
        }

        var version = state.State.Versions[active];
        return Task.FromResult(new FeatureSnapshot(
            feature,
            version.Version,
            version.SystemPromptVersion,
            state.State.Prompts[PromptKey.For("system", version.SystemPromptVersion)],
            version.UserPromptVersion,
            state.State.Prompts[PromptKey.For("user", version.UserPromptVersion)],
            version.Settings,
            state.State.Revision));
    }

    private async Task SeedAsync()
    {
        var feature = this.GetPrimaryKeyString();
        var loaded = seed.LoadFeature(feature)
            ?? throw new InvalidOperationException($"No seed files for feature '{feature}'.");
        var now = time.GetUtcNow();

        foreach (var (key, text) in loaded.Prompts)
        {
            state.State.Prompts[key] = text;
        }

        foreach (var json in loaded.ConfigDocuments)
        {
            var doc = FeatureConfigDocument.Parse(json);
            foreach (var key in new[] { PromptKey.For("system", doc.Prompts.System), PromptKey.For("user", doc.Prompts.User) })
            {
                if (!state.State.Prompts.ContainsKey(key))
                {
                    throw new InvalidOperationException($"Feature {doc.Version} names prompt '{key}', which has no file.");
                }
            }

            state.State.Versions[doc.Version] = new FeatureVersionRecord(
                doc.Version, doc.Prompts.System, doc.Prompts.User, doc.ToSettings(), json, now);
        }

        state.State.Labels[ActiveLabel] = loaded.ActiveVersion;
        state.State.Audit.Add(new AuditEntry(now, "seed", "seed", null, loaded.ActiveVersion, "Seeded from the repository's config/ and prompts/."));
        state.State.Revision = 1;
        await state.WriteStateAsync();
        LogSeeded(feature, loaded.ActiveVersion, state.State.Versions.Count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Seeded feature {Feature}: active {Version}, {Count} versions")]
    private partial void LogSeeded(string feature, string version, int count);
}
