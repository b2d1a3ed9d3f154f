using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Navigator.Api.Apis;
using Navigator.Api.Experiments;
using Navigator.Api.Pipeline;
using Navigator.Testing;

namespace Navigator.Api.Tests;

/// <summary>
/// A cluster of its own, with two replicas calling the fake upstream through the real OpenAI and Anthropic SDKs:
/// these tests stop the seeded experiment and run others on the feature.
/// </summary>
public sealed class ExperimentsFixture() : FakeUpstreamFixture("experiments")
{
    /// <summary>The LLM judge scores every answer in an experiment here (5% by default).</summary>
    protected override IReadOnlyDictionary<string, string> MoreApiSettings => new Dictionary<string, string> { ["experiments:judgeSampleRate"] = "1" };
}

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
        // The repository's experiment is in the catalog. One experiment runs on a feature at a time.
        var summaries = await Admin.GetFromJsonAsync<JsonArray>("/admin/experiments");
        Assert.Contains(summaries!, s => s!["id"]!.GetValue<string>() == "provider_comparison");
        await StopRunningAsync();
        (await Admin.PostAsJsonAsync("/admin/experiments", Definition("blocker", start: true))).EnsureSuccessStatusCode();
        var definition = Definition("prompt_v20_vs_v21", start: true);
        var refused = await ProblemAssert.ReadAsync(await Admin.PostAsJsonAsync("/admin/experiments", definition), HttpStatusCode.UnprocessableEntity);
        Assert.Equal(["/feature"], Pointers(refused));
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync("/admin/experiments/prompt_v20_vs_v21")).StatusCode);

        await StopRunningAsync();
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
        var again = await Admin.PatchAsJsonAsync("/admin/experiments/prompt_v20_vs_v21", new { weights = new { control = 20, treatment = 80 } });
        Assert.Equal("unchanged", (await again.Content.ReadFromJsonAsync<JsonNode>())!["outcome"]!.GetValue<string>());
        var details = (await Admin.GetFromJsonAsync<JsonNode>("/admin/experiments/prompt_v20_vs_v21"))!;
        Assert.Equal(2, details["definition"]!["revision"]!.GetValue<long>());
        Assert.Equal(1.0, details["definition"]!["coverage"]!.GetValue<double>());
        await WaitForReplicasAsync("prompt_v20_vs_v21", revision: 2);
        foreach (var (user, variant) in users)
        {
            Assert.Equal(variant, (await MetaAsync(fixture.Replicas[0], user))["variantId"]!.GetValue<string>());
        }

        // Paused: nobody is in the experiment; started again: everyone is back in their variant; stopped for good.
        (await Admin.PostAsJsonAsync("/admin/experiments/prompt_v20_vs_v21/pause", new { reason = "look at the numbers" })).EnsureSuccessStatusCode();
        var (pausedUser, pausedVariant) = users.First();
        await WaitForReplicasAsync(null);
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

    [Fact]
    public async Task Feedback_and_traffic_reach_the_results_and_the_winner_is_promoted_then_rolled_back()
    {
        await StopRunningAsync();
        const string Id = "feedback_v20_vs_v21";
        (await Admin.PostAsJsonAsync("/admin/experiments", Definition(Id, start: true, minimumSample: 3))).EnsureSuccessStatusCode();
        await WaitForReplicasAsync(Id, revision: 1);

        // Traffic on both replicas; only answers in this experiment are counted.
        var spentBefore = (await BudgetReports.QuietAsync(Admin, TestClock.Month)).SpentUsd;
        decimal served = 0;
        var answers = new List<(string RequestId, string Variant)>();
        for (var i = 0; answers.Count < 16 || answers.Select(a => a.Variant).Distinct().Count() < 2; i++)
        {
            Assert.True(i < 60, "both variants should get users");
            var body = await AnswerAsync(fixture.Replicas[i % 2], $"fb-user-{i}");
            served += body["meta"]!["costUsd"]!.GetValue<decimal>();
            if (body["meta"]!["experimentId"]?.GetValue<string>() == Id)
            {
                answers.Add((body["requestId"]!.GetValue<string>(), body["meta"]!["variantId"]!.GetValue<string>()));
            }
        }

        // Treatment answers get a thumbs-up, control answers a thumbs-down; a repeat counts once, a change moves the count.
        foreach (var (requestId, variant) in answers)
        {
            var rated = await RateAsync(fixture.Replicas[1], requestId, variant == "treatment" ? "up" : "down");
            Assert.Equal(HttpStatusCode.OK, rated.StatusCode);
            Assert.Equal("counted", (await rated.Content.ReadFromJsonAsync<JsonNode>())!["outcome"]!.GetValue<string>());
        }

        var (firstId, firstVariant) = answers[0];
        var first = firstVariant == "treatment" ? "up" : "down";
        Assert.Equal("unchanged", (await (await RateAsync(fixture.Replicas[0], firstId, first)).Content.ReadFromJsonAsync<JsonNode>())!["outcome"]!.GetValue<string>());
        var flipped = first == "up" ? "down" : "up";
        Assert.Equal("changed", (await (await RateAsync(fixture.Replicas[0], firstId, flipped)).Content.ReadFromJsonAsync<JsonNode>())!["outcome"]!.GetValue<string>());

        // Bad feedback changes nothing: a bad rating, an id the gateway never issued, a tampered one, one past its window.
        await ProblemAssert.ReadAsync(await RateAsync(fixture.Replicas[0], firstId, "meh"), HttpStatusCode.BadRequest);
        await ProblemAssert.ReadAsync(await RateAsync(fixture.Replicas[0], "req_0193a7b2c1d24e5f8a9b0c1d2e3f4a5b.0123456789abcdef", "up"), HttpStatusCode.NotFound);
        var tampered = firstId[..firstId.LastIndexOf('.')].Replace(firstVariant, firstVariant == "treatment" ? "control" : "treatment", StringComparison.Ordinal) + firstId[firstId.LastIndexOf('.')..];
        await ProblemAssert.ReadAsync(await RateAsync(fixture.Replicas[0], tampered, "up"), HttpStatusCode.NotFound);
        var replica = fixture.Replicas[0].Services;
        var old = new RequestIds(replica.GetRequiredService<ExperimentCache>(), new FixedClock(TestClock.Suite.GetUtcNow().AddDays(-8)));
        var expired = old.Sign(old.New(), new Grains.Experiments.VariantAssignment(Id, "treatment", null));
        var closed = await ProblemAssert.ReadAsync(await RateAsync(fixture.Replicas[0], expired, "up"), HttpStatusCode.Conflict);
        Assert.Equal(Problems.FeedbackWindowClosed, closed["type"]!.GetValue<string>());

        // The results count exactly what was served and rated, on both replicas (each sends its counts every second).
        // Every treatment answer was rated up, every control one down; then the first answer's rating flipped.
        var expectedUp = answers.Count(a => a.Variant == "treatment") + (firstVariant == "control" ? 1 : -1);
        JsonNode results = null!;
        for (var attempt = 0; attempt < 50; attempt++)
        {
            results = (await Admin.GetFromJsonAsync<JsonNode>($"/admin/experiments/{Id}/results"))!;
            if (results["variants"]!.AsArray().Sum(v => v!["requests"]!.GetValue<long>()) == answers.Count
                && results["variants"]!.AsArray().Sum(v => v!["thumbsUpRate"]!["n"]!.GetValue<long>()) == answers.Count
                && results["variants"]!.AsArray().Sum(v => v!["judgeScore"]!["n"]!.GetValue<long>()) == answers.Count)
            {
                break;
            }

            await Task.Delay(200);
        }

        var variants = results["variants"]!.AsArray();
        Assert.Equal(["control", "treatment"], variants.Select(v => v!["id"]!.GetValue<string>()));
        foreach (var v in variants)
        {
            var variant = v!["id"]!.GetValue<string>();
            Assert.Equal(answers.Count(a => a.Variant == variant), v["requests"]!.GetValue<long>());
            Assert.Equal(answers.Count(a => a.Variant == variant), v["thumbsUpRate"]!["n"]!.GetValue<long>());
            Assert.Equal(answers.Count(a => a.Variant == variant), v["qualityScore"]!["n"]!.GetValue<long>());
            Assert.InRange(v["qualityScore"]!["mean"]!.GetValue<double>(), 0, 1);
            // The LLM judge (every answer here; the simulated judge gives 4 of 5 to an answer with salary ranges).
            Assert.Equal(answers.Count(a => a.Variant == variant), v["judgeScore"]!["n"]!.GetValue<long>());
            Assert.Equal(0.75, v["judgeScore"]!["mean"]!.GetValue<double>(), 9);
            Assert.True(v["latencyMs"]!["low"]!.GetValue<double>() <= v["latencyMs"]!["mean"]!.GetValue<double>());
            Assert.True(v["latencyMs"]!["mean"]!.GetValue<double>() <= v["latencyMs"]!["high"]!.GetValue<double>());
        }

        var ups = variants.Sum(v => Math.Round(v!["thumbsUpRate"]!["mean"]!.GetValue<double>() * v["thumbsUpRate"]!["n"]!.GetValue<long>()));
        Assert.Equal(expectedUp, ups);
        Assert.NotNull(variants[1]!["thumbsUpVsControl"]!["pValue"]);
        Assert.Contains(results["verdict"]!.GetValue<string>(), new[] { "variant better", "no difference" });
        Assert.NotNull(results["sampleRatio"]);

        // The judge's calls went through the budget: the month spent more than the answers served cost, by what the
        // judge's meter says it cost (the other test of this collection sends nothing meanwhile).
        var judgeCost = PrometheusText.Sum(await fixture.Replicas[0].CreateClient().GetStringAsync("/metrics"), "navigator_judge_cost_usd_total");
        Assert.True(judgeCost > 0, "the judge's calls cost something");
        Assert.True(PrometheusText.Sum(await fixture.Replicas[0].CreateClient().GetStringAsync("/metrics"), "navigator_judge_total", ("outcome", "scored")) >= answers.Count);
        var spent = (await BudgetReports.QuietAsync(Admin, TestClock.Month)).SpentUsd - spentBefore;
        Assert.True(spent > served, $"spent {spent}, served {served}");

        // Promote the treatment: its system prompt becomes the active version's, audited; the experiment stops; a rollback undoes it.
        var before = (await Admin.GetFromJsonAsync<JsonNode>($"/admin/features/{Feature}"))!["activeVersion"]!.GetValue<string>();
        var promoted = await Admin.PostAsJsonAsync($"/admin/experiments/{Id}/promote", new { variantId = "treatment", reason = "more thumbs up" });
        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        var active = (await promoted.Content.ReadFromJsonAsync<JsonNode>())!["activeVersion"]!.GetValue<string>();
        Assert.NotEqual(before, active);
        var feature = (await Admin.GetFromJsonAsync<JsonNode>($"/admin/features/{Feature}"))!;
        Assert.Equal(active, feature["activeVersion"]!.GetValue<string>());
        Assert.Equal("v2.0", feature["versions"]!.AsArray().Single(v => v!["version"]!.GetValue<string>() == active)!["systemPromptVersion"]!.GetValue<string>());
        Assert.Contains(feature["audit"]!.AsArray(), a => a!["to"]?.GetValue<string>() == active && a["reason"]!.GetValue<string>().Contains("treatment promoted", StringComparison.Ordinal));
        Assert.Equal("stopped", (await Admin.GetFromJsonAsync<JsonNode>($"/admin/experiments/{Id}"))!["definition"]!["status"]!.GetValue<string>());

        (await Admin.PostAsJsonAsync($"/admin/features/{Feature}/rollback", new { reason = "undo the promotion" })).EnsureSuccessStatusCode();
        Assert.Equal(before, (await Admin.GetFromJsonAsync<JsonNode>($"/admin/features/{Feature}"))!["activeVersion"]!.GetValue<string>());
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

    private static async Task<JsonNode> AnswerAsync(ApiReplica replica, string userId)
    {
        var response = await replica.Client().PostAsJsonAsync("/v1/career-paths", new
        {
            userId,
            userProfile = "Data analyst, 4 years of SQL and Python",
            jobMarketData = "Data Engineer: $120k-170k, Analytics Engineer: $115k-160k",
        });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonNode>())!;
    }

    private static Task<HttpResponseMessage> RateAsync(ApiReplica replica, string requestId, string rating) =>
        replica.Client().PostAsJsonAsync($"/v1/career-paths/{requestId}/feedback", new { rating, comment = "from the test" });

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    /// <summary>Stops whatever runs on the feature, so a test does not depend on the others' order.</summary>
    private async Task StopRunningAsync()
    {
        foreach (var running in (await Admin.GetFromJsonAsync<JsonArray>("/admin/experiments"))!.Where(s => s!["status"]!.GetValue<string>() == "running"))
        {
            (await Admin.PostAsJsonAsync($"/admin/experiments/{running!["id"]!.GetValue<string>()}/stop", new { reason = "test set-up" })).EnsureSuccessStatusCode();
        }
    }

    private static object Definition(string id, bool start, int minimumSample = 100) => new
    {
        id,
        feature = Feature,
        description = "Is system prompt v2.0 better than v2.1?",
        start,
        primaryMetric = "thumbs_up_rate",
        guardrails = new Dictionary<string, double> { ["error_rate"] = 0.05 },
        minimumSamplePerVariant = minimumSample,
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

    /// <summary>Waits until every replica applies experiment <paramref name="id"/> at <paramref name="revision"/> to the feature (or none, for a null id).</summary>
    private async Task WaitForReplicasAsync(string? id, long revision = 0)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (fixture.Replicas.Any(r => r.Services.GetRequiredService<ExperimentCache>().RunningOn(Feature) is var running
            && (id is null ? running is not null : running?.Id != id || running.Revision != revision)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"replicas did not reach {id ?? "no experiment"} at revision {revision}");
            await Task.Delay(100);
        }
    }
}
