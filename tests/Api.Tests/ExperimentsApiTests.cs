using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Navigator.Api.Pipeline;

namespace Navigator.Api.Tests;

/// <summary>A cluster of its own: these tests stop the seeded experiment and run others on the feature.</summary>
public sealed class ExperimentsFixture() : ClusterWithReplicas("experiments", 2);

[CollectionDefinition(Name)]
public sealed class ExperimentsCollection : ICollectionFixture<ExperimentsFixture>
{
    public const string Name = "experiments";
}

/// <summary>The experiment workflow through the admin API: definitions, bad input, assignment by variant, ramps and stops.</summary>
[Collection(ExperimentsCollection.Name)]
public sealed class ExperimentsApiTests(ExperimentsFixture fixture)
{
    private const string Feature = "career_path_navigator";

    private HttpClient Admin => fixture.Replicas[0].Client(ApiReplica.AdminKey);

    [Fact]
    public async Task A_system_prompt_experiment_runs_end_to_end_and_no_assigned_user_ever_moves()
    {
        // The seeded experiment runs on the feature: a second one is refused until it stops.
        var summaries = await Admin.GetFromJsonAsync<JsonArray>("/admin/experiments");
        Assert.Contains(summaries!, s => s!["id"]!.GetValue<string>() == "provider_comparison" && s["status"]!.GetValue<string>() == "running");
        var definition = Definition("prompt_v20_vs_v21", start: true);
        var refused = await ProblemAssert.ReadAsync(await Admin.PostAsJsonAsync("/admin/experiments", definition), HttpStatusCode.UnprocessableEntity);
        Assert.Equal(["/feature"], Pointers(refused));
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync("/admin/experiments/prompt_v20_vs_v21")).StatusCode);

        (await Admin.PostAsJsonAsync("/admin/experiments/provider_comparison/stop", new { reason = "make room" })).EnsureSuccessStatusCode();
        var created = await Admin.PostAsJsonAsync("/admin/experiments", definition);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = (await created.Content.ReadFromJsonAsync<JsonNode>())!["experiment"]!;
        Assert.Equal("running", body["status"]!.GetValue<string>());
        Assert.Equal([0.5, 0.5], body["variants"]!.AsArray().Select(v => v!["share"]!.GetValue<double>()));

        // Each variant serves the system prompt it pins, on both replicas, to the same users.
        var seen = new Dictionary<string, string>();
        var users = new Dictionary<string, string>();
        for (var i = 0; i < 40 && (seen.Count < 2 || users.Count < 6); i++)
        {
            var user = $"exp-user-{i}";
            var meta = await MetaAsync(fixture.Replicas[i % 2], user, wait: true, experiment: "prompt_v20_vs_v21");
            var variant = meta["variantId"]!.GetValue<string>();
            seen[variant] = meta["systemPromptVersion"]!.GetValue<string>();
            users[user] = variant;
        }

        Assert.Equal(new Dictionary<string, string> { ["control"] = "v2.1", ["treatment"] = "v2.0" }, seen);
        foreach (var (user, variant) in users.Take(3))
        {
            Assert.Equal(variant, (await MetaAsync(fixture.Replicas[1], user))["variantId"]!.GetValue<string>());
        }

        // Re-weighting keeps everyone where they were; lowering coverage while running is refused and changes nothing.
        (await Admin.PatchAsJsonAsync("/admin/experiments/prompt_v20_vs_v21", new { weights = new { control = 20, treatment = 80 }, reason = "ramp treatment" }))
            .EnsureSuccessStatusCode();
        var lower = await ProblemAssert.ReadAsync(await Admin.PatchAsJsonAsync("/admin/experiments/prompt_v20_vs_v21", new { coverage = 0.5 }), HttpStatusCode.UnprocessableEntity);
        Assert.Equal(["/coverage"], Pointers(lower));
        var details = (await Admin.GetFromJsonAsync<JsonNode>("/admin/experiments/prompt_v20_vs_v21"))!;
        Assert.Equal(2, details["definition"]!["revision"]!.GetValue<long>());
        Assert.Equal(1.0, details["definition"]!["coverage"]!.GetValue<double>());
        await WaitForReplicasAsync(revision: 2);
        foreach (var (user, variant) in users)
        {
            Assert.Equal(variant, (await MetaAsync(fixture.Replicas[0], user))["variantId"]!.GetValue<string>());
        }

        // Paused: nobody is in the experiment; started again: everyone is back in their variant; stopped for good.
        (await Admin.PostAsJsonAsync("/admin/experiments/prompt_v20_vs_v21/pause", new { reason = "look at the numbers" })).EnsureSuccessStatusCode();
        var (pausedUser, pausedVariant) = users.First();
        await WaitForReplicasAsync(revision: null);
        Assert.Null((await MetaAsync(fixture.Replicas[0], pausedUser))["experimentId"]);
        (await Admin.PostAsJsonAsync("/admin/experiments/prompt_v20_vs_v21/start", new { reason = "resume" })).EnsureSuccessStatusCode();
        Assert.Equal(pausedVariant, (await MetaAsync(fixture.Replicas[0], pausedUser, wait: true, experiment: "prompt_v20_vs_v21"))["variantId"]!.GetValue<string>());
        (await Admin.PostAsJsonAsync("/admin/experiments/prompt_v20_vs_v21/stop", new { reason = "done" })).EnsureSuccessStatusCode();
        await ProblemAssert.ReadAsync(await Admin.PostAsJsonAsync("/admin/experiments/prompt_v20_vs_v21/start", new { }), HttpStatusCode.Conflict);

        var audit = (await Admin.GetFromJsonAsync<JsonNode>("/admin/experiments/prompt_v20_vs_v21"))!["audit"]!.AsArray();
        Assert.Equal(["create", "update", "pause", "start", "stop"], audit.Select(a => a!["action"]!.GetValue<string>()));
        Assert.All(audit, a => Assert.Equal("admin", a!["actor"]!.GetValue<string>()));
        Assert.Equal("ramp treatment", audit[1]!["reason"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("weights", "/variants")]
    [InlineData("featureVersion", "/variants/0/featureVersion")]
    [InlineData("systemPromptVersion", "/variants/1/systemPromptVersion")]
    [InlineData("provider", "/variants/0/provider")]
    [InlineData("model", "/variants/0/model")]
    [InlineData("coverage", "/coverage")]
    [InlineData("salt", "/salt")]
    [InlineData("variables", "/variants/1/variables")]
    [InlineData("feature", "/feature")]
    public async Task A_bad_definition_gets_422_with_a_pointer_and_creates_nothing(string fault, string pointer)
    {
        if (fault == "variables")
        {
            // A published user template that uses a variable the feature does not supply.
            (await Admin.PostAsJsonAsync($"/admin/features/{Feature}/prompts/user/v9.1", new { text = "Profile: {{ user_profile }} Region: {{ region }}" })).EnsureSuccessStatusCode();
        }

        var id = $"bad-{fault.ToLowerInvariant()}";
        object variant0 = fault switch
        {
            "weights" => new { id = "control", weight = 0 },
            "featureVersion" => new { id = "control", weight = 1, featureVersion = "9.9.9" },
            "provider" => new { id = "control", weight = 1, provider = "mistral" },
            "model" => new { id = "control", weight = 1, provider = "openai", model = "gpt-unpriced" },
            _ => new { id = "control", weight = 1 },
        };
        object variant1 = fault switch
        {
            "weights" => new { id = "treatment", weight = 0 },
            "systemPromptVersion" => new { id = "treatment", weight = 1, systemPromptVersion = "v7.7" },
            "variables" => new { id = "treatment", weight = 1, userPromptVersion = "v9.1" },
            _ => new { id = "treatment", weight = 1, systemPromptVersion = "v2.0" },
        };
        var body = new
        {
            id,
            feature = fault == "feature" ? "no_such_feature" : Feature,
            salt = fault == "salt" ? "has:colon" : id,
            coverage = fault == "coverage" ? 1.5 : 1.0,
            variants = new[] { variant0, variant1 },
        };

        var problem = await ProblemAssert.ReadAsync(await Admin.PostAsJsonAsync("/admin/experiments", body), HttpStatusCode.UnprocessableEntity);

        Assert.Contains(pointer, Pointers(problem));
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync($"/admin/experiments/{id}")).StatusCode);
        Assert.DoesNotContain((await Admin.GetFromJsonAsync<JsonArray>("/admin/experiments"))!, s => s!["id"]!.GetValue<string>() == id);
    }

    [Fact]
    public async Task Changes_need_a_write_scoped_admin_key_and_unknown_ids_get_404()
    {
        var reader = fixture.Replicas[0].Client(ApiReplica.ReaderAdminKey);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/admin/experiments")).StatusCode);
        await ProblemAssert.ReadAsync(await reader.PostAsJsonAsync("/admin/experiments", Definition("reader-made", start: false)), HttpStatusCode.Forbidden);
        await ProblemAssert.ReadAsync(await Admin.PostAsJsonAsync("/admin/experiments/never-made/pause", new { }), HttpStatusCode.NotFound);
        await ProblemAssert.ReadAsync(await Admin.PatchAsJsonAsync("/admin/experiments/never-made", new { coverage = 0.5 }), HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync("/admin/experiments/reader-made")).StatusCode);
        // An id is never reused.
        (await Admin.PostAsJsonAsync("/admin/experiments", Definition("drafted-once", start: false))).EnsureSuccessStatusCode();
        await ProblemAssert.ReadAsync(await Admin.PostAsJsonAsync("/admin/experiments", Definition("drafted-once", start: false)), HttpStatusCode.Conflict);
    }

    private static object Definition(string id, bool start) => new
    {
        id,
        feature = Feature,
        description = "Is system prompt v2.0 better than v2.1?",
        start,
        primaryMetric = "thumbs_up_rate",
        guardrails = new Dictionary<string, double> { ["error_rate"] = 0.05 },
        variants = new object[]
        {
            new { id = "control", weight = 50, systemPromptVersion = "v2.1" },
            new { id = "treatment", weight = 50, systemPromptVersion = "v2.0" },
        },
    };

    private static List<string> Pointers(JsonNode problem) => [.. problem["errors"]!.AsArray().Select(e => e!["pointer"]!.GetValue<string>())];

    /// <summary>The meta of one request; with <paramref name="wait"/>, retried (within 5 s) until it names <paramref name="experiment"/> (replicas read the catalog every second).</summary>
    private static async Task<JsonNode> MetaAsync(ApiReplica replica, string userId, bool wait = false, string? experiment = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            var response = await replica.Client().PostAsJsonAsync("/v1/career-paths", new
            {
                userId,
                userProfile = "Backend engineer, 6 years of Go",
                jobMarketData = "Platform Engineer: $140k-190k, SRE: $135k-185k",
            });
            response.EnsureSuccessStatusCode();
            var meta = (await response.Content.ReadFromJsonAsync<JsonNode>())!["meta"]!;
            if (!wait || meta["experimentId"]?.GetValue<string>() == experiment || DateTime.UtcNow > deadline)
            {
                return meta;
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Waits until every replica's copy of the feature's running experiment is at <paramref name="revision"/> (or none runs).</summary>
    private async Task WaitForReplicasAsync(long? revision)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (fixture.Replicas.Any(r => r.Services.GetRequiredService<ExperimentCache>().RunningOn(Feature)?.Revision != revision))
        {
            Assert.True(DateTime.UtcNow < deadline, $"replicas did not reach revision {revision}");
            await Task.Delay(100);
        }
    }
}
