using Navigator.Grains.PromptConfig;
using Navigator.Testing;

namespace Navigator.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class PromptConfigGrainTests(ClusterFixture fixture)
{
    /// <summary>A fresh, empty feature with the repository's v2.1/v1.5 prompts published.</summary>
    private async Task<(IPromptConfigGrain Grain, string Feature)> NewFeatureAsync()
    {
        var feature = $"f_{Guid.NewGuid():N}";
        var grain = fixture.Client.GetGrain<IPromptConfigGrain>(feature);
        Assert.Equal(ChangeOutcome.Applied, (await grain.PublishPromptAsync("system", "v2.1", FeatureDocuments.PromptText("system", "v2.1"), "alice")).Outcome);
        Assert.Equal(ChangeOutcome.Applied, (await grain.PublishPromptAsync("user", "v1.5", FeatureDocuments.PromptText("user", "v1.5"), "alice")).Outcome);
        return (grain, feature);
    }

    [Fact]
    public async Task Publish_activate_and_roll_back_move_the_label_and_are_audited()
    {
        var (grain, feature) = await NewFeatureAsync();
        await grain.PublishPromptAsync("system", "v2.2", "A newer system prompt.", "alice");

        Assert.Equal(ChangeOutcome.Applied, (await grain.PublishFeatureAsync(FeatureDocuments.Make(feature, "1.0.0"), true, "alice", "first")).Outcome);
        Assert.Equal(ChangeOutcome.Applied, (await grain.PublishFeatureAsync(FeatureDocuments.Make(feature, "1.1.0", system: "v2.2"), true, "bob", "new prompt")).Outcome);
        var active = (await grain.GetActiveAsync())!;
        Assert.Equal(("1.1.0", "v2.2", "A newer system prompt."), (active.FeatureVersion, active.SystemPromptVersion, active.SystemPrompt));

        var rollback = await grain.RollbackAsync(null, "carol", "v2.2 hurts quality");
        Assert.Equal(ChangeOutcome.Applied, rollback.Outcome);
        Assert.Equal("1.0.0", rollback.ActiveVersion);
        Assert.Equal("v2.1", (await grain.GetActiveAsync())!.SystemPromptVersion);

        // Nothing before 1.0.0: a plain rollback has nowhere to go; a named one still works.
        Assert.Equal(ChangeOutcome.Conflict, (await grain.RollbackAsync(null, "carol", "again")).Outcome);
        Assert.Equal(ChangeOutcome.Applied, (await grain.RollbackAsync("1.1.0", "carol", "fixed upstream")).Outcome);

        var overview = await grain.GetOverviewAsync();
        Assert.Equal("1.1.0", overview.ActiveVersion);
        Assert.Equal(["1.0.0", "1.1.0"], overview.Versions.Select(v => v.Version));
        var rollbackEntry = Assert.Single(overview.Audit, a => a.Action == "rollback" && a.Reason == "v2.2 hurts quality");
        Assert.Equal(("carol", "1.1.0", "1.0.0"), (rollbackEntry.Actor, rollbackEntry.From, rollbackEntry.To));
        Assert.Contains(overview.Audit, a => a is { Action: "publish", Actor: "bob", To: "1.1.0" });
    }

    [Fact]
    public async Task Schema_invalid_configs_are_refused_with_json_pointers_and_change_nothing()
    {
        var (grain, feature) = await NewFeatureAsync();
        var before = await grain.GetOverviewAsync();

        var result = await grain.PublishFeatureAsync(FeatureDocuments.Make(feature, "1.0.0", edit: doc =>
        {
            doc["limits"]!["maxInputTokens"] = 5;
            doc["providers"]!["openai"]!["apiKey"] = "sk-should-never-be-here";
        }), true, "alice", null);

        Assert.Equal(ChangeOutcome.Invalid, result.Outcome);
        Assert.Contains(result.Errors, e => e.Pointer == "/limits/maxInputTokens");
        Assert.Contains(result.Errors, e => e.Pointer == "/providers/openai/apiKey");
        var after = await grain.GetOverviewAsync();
        Assert.Equal(before.Revision, after.Revision);
        Assert.Empty(after.Versions);
        Assert.Null(after.ActiveVersion);
    }

    [Theory]
    [InlineData("""["user_profile", "job_market_data"]""", "recommendation_count")]
    [InlineData("""["user_profile", "job_market_data", "recommendation_count", "seniority"]""", "seniority")]
    public async Task Templates_must_use_exactly_the_variables_the_feature_supplies(string variables, string named)
    {
        var (grain, feature) = await NewFeatureAsync();
        var result = await grain.PublishFeatureAsync(FeatureDocuments.Make(feature, "1.0.0", edit: doc =>
            doc["variables"] = System.Text.Json.Nodes.JsonNode.Parse(variables)), false, "alice", null);

        Assert.Equal(ChangeOutcome.Invalid, result.Outcome);
        var error = Assert.Single(result.Errors);
        Assert.Equal("/variables", error.Pointer);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.Empty((await grain.GetOverviewAsync()).Versions);
    }

    [Fact]
    public async Task Unknown_prompt_versions_and_bad_templates_are_refused()
    {
        var (grain, feature) = await NewFeatureAsync();
        var unknown = await grain.PublishFeatureAsync(FeatureDocuments.Make(feature, "1.0.0", system: "v9.9"), false, "alice", null);
        Assert.Equal(ChangeOutcome.Invalid, unknown.Outcome);
        Assert.Equal("/prompts/system", Assert.Single(unknown.Errors).Pointer);

        Assert.Equal(ChangeOutcome.Invalid, (await grain.PublishPromptAsync("user", "v2.0", "{{ user_profile ", "alice")).Outcome);
        Assert.Equal(ChangeOutcome.Invalid, (await grain.PublishPromptAsync("assistant", "v2.0", "hi", "alice")).Outcome);
        Assert.Equal(ChangeOutcome.Invalid, (await grain.PublishPromptAsync("user", "2.0", "hi", "alice")).Outcome);
        Assert.DoesNotContain("user/v2.0", (await grain.GetOverviewAsync()).Prompts);
    }

    [Fact]
    public async Task Published_versions_are_immutable()
    {
        var (grain, feature) = await NewFeatureAsync();
        var document = FeatureDocuments.Make(feature, "1.0.0");
        await grain.PublishFeatureAsync(document, true, "alice", null);

        Assert.Equal(ChangeOutcome.Unchanged, (await grain.PublishFeatureAsync(document, false, "alice", null)).Outcome);
        var changed = FeatureDocuments.Make(feature, "1.0.0", edit: doc => doc["limits"]!["maxOutputTokens"] = 900);
        Assert.Equal(ChangeOutcome.Conflict, (await grain.PublishFeatureAsync(changed, false, "alice", null)).Outcome);
        Assert.Equal(800, (await grain.GetActiveAsync())!.Settings.MaxOutputTokens);

        Assert.Equal(ChangeOutcome.Unchanged, (await grain.PublishPromptAsync("system", "v2.1", FeatureDocuments.PromptText("system", "v2.1"), "alice")).Outcome);
        Assert.Equal(ChangeOutcome.Conflict, (await grain.PublishPromptAsync("system", "v2.1", "Something else.", "alice")).Outcome);
        Assert.Equal(ChangeOutcome.NotFound, (await grain.RollbackAsync("7.7.7", "alice", "typo")).Outcome);
        Assert.Equal(ChangeOutcome.NotFound, (await grain.ActivateAsync("7.7.7", "alice", "typo")).Outcome);
    }

    [Fact]
    public async Task Subscribed_observers_are_pushed_every_activation()
    {
        var (grain, feature) = await NewFeatureAsync();
        await grain.PublishFeatureAsync(FeatureDocuments.Make(feature, "1.0.0"), true, "alice", null);
        await grain.PublishFeatureAsync(FeatureDocuments.Make(feature, "1.0.1"), false, "alice", null);

        var observer = new RecordingObserver();
        var reference = fixture.Client.CreateObjectReference<IFeatureConfigObserver>(observer);
        await grain.SubscribeAsync(reference);
        await grain.ActivateAsync("1.0.1", "alice", "push test");

        var pushed = await observer.Next.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("1.0.1", pushed.FeatureVersion);
        Assert.Equal((await grain.GetOverviewAsync()).Revision, pushed.Revision);
        fixture.Client.DeleteObjectReference<IFeatureConfigObserver>(reference);
    }

    private sealed class RecordingObserver : IFeatureConfigObserver
    {
        public TaskCompletionSource<FeatureSnapshot> Next { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task OnActiveChangedAsync(FeatureSnapshot snapshot)
        {
            Next.TrySetResult(snapshot);
            return Task.CompletedTask;
        }
    }
}
