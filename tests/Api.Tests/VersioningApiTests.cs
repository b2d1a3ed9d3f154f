using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Navigator.Testing;

namespace Navigator.Api.Tests;

/// <summary>Feature versioning through the admin API, seen by two API replicas of one cluster.</summary>
[Collection(ReplicaCollection.Name)]
public sealed class VersioningApiTests(TwoReplicaFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : RestoringTests
{
    private const string Feature = "career_path_navigator";
    private static readonly TimeSpan PropagationLimit = TimeSpan.FromSeconds(1);

    private ApiReplica A => fixture.Replicas[0];
    private ApiReplica B => fixture.Replicas[1];

    [Fact]
    public async Task Rollback_reaches_both_replicas_within_one_second()
    {
        // Both replicas start on the seeded 1.2.3.
        await WaitForVersionsAsync("1.2.3", "v2.1", TimeSpan.FromSeconds(10));

        var admin = A.Client("alice-admin-key");
        var prompt = await admin.PostAsJsonAsync($"/admin/features/{Feature}/prompts/system/v2.2",
            new { text = FeatureDocuments.PromptText("system", "v2.1") + "\nKeep every list to at most three items." });
        Assert.Equal(HttpStatusCode.Created, prompt.StatusCode);
        var publish = await admin.PostAsync($"/admin/features/{Feature}/versions?activate=true&reason=try%20v2.2",
            Json(FeatureDocuments.Make(Feature, "1.2.4", system: "v2.2")));
        Assert.Equal(HttpStatusCode.Created, publish.StatusCode);
        var activated = await WaitForVersionsAsync("1.2.4", "v2.2", PropagationLimit);

        var rollback = await B.Client(ApiReplica.AdminKey).PostAsJsonAsync($"/admin/features/{Feature}/rollback", new { reason = "v2.2 answers are too short" });
        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        var rolledBack = await WaitForVersionsAsync("1.2.3", "v2.1", PropagationLimit);

        var overview = JsonNode.Parse(await A.Client(ApiReplica.AdminKey).GetStringAsync($"/admin/features/{Feature}"))!;
        Assert.Equal("1.2.3", overview["activeVersion"]!.GetValue<string>());
        var audit = overview["audit"]!.AsArray();
        Assert.Contains(audit, a => a!["action"]!.GetValue<string>() == "activate" && a["actor"]!.GetValue<string>() == "alice" && a["to"]!.GetValue<string>() == "1.2.4");
        Assert.Contains(audit, a => a!["action"]!.GetValue<string>() == "rollback" && a["actor"]!.GetValue<string>() == "admin"
            && a["from"]!.GetValue<string>() == "1.2.4" && a["to"]!.GetValue<string>() == "1.2.3" && a["reason"]!.GetValue<string>() == "v2.2 answers are too short");
        output.WriteLine($"activation reached both replicas in {activated.TotalMilliseconds:0} ms, rollback in {rolledBack.TotalMilliseconds:0} ms");
        Assert.True(activated < PropagationLimit && rolledBack < PropagationLimit, $"activation {activated}, rollback {rolledBack}");
    }

    [Fact]
    public async Task The_archived_version_can_be_activated_and_serves_its_own_prompts()
    {
        await WaitForVersionsAsync("1.2.3", "v2.1", TimeSpan.FromSeconds(10));
        var admin = A.Client(ApiReplica.AdminKey);
        (await admin.PostAsJsonAsync($"/admin/features/{Feature}/rollback", new { toVersion = "1.2.2", reason = "compare with the archive" })).EnsureSuccessStatusCode();
        Restore(async () =>
        {
            (await admin.PostAsJsonAsync($"/admin/features/{Feature}/rollback", new { reason = "back to 1.2.3" })).EnsureSuccessStatusCode();
            await WaitForVersionsAsync("1.2.3", "v2.1", PropagationLimit);
        });

        await WaitForVersionsAsync("1.2.2", "v2.0", PropagationLimit);
        var json = await PostAsync(B);
        Assert.Equal("v1.4", json["meta"]!["userPromptVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task Bad_versioning_requests_are_refused_and_change_nothing()
    {
        var admin = A.Client(ApiReplica.AdminKey);
        var before = await RevisionAsync();
        var grain = A.Services.GetRequiredService<IGrainFactory>().GetGrain<Grains.PromptConfig.IPromptConfigGrain>(Feature);
        var active = await grain.GetActiveAsync();
        var overview = await grain.GetOverviewAsync();

        var schemaInvalid = await admin.PostAsync($"/admin/features/{Feature}/versions",
            Json(FeatureDocuments.Make(Feature, "1.3.0", edit: d => d["limits"]!["maxInputTokens"] = "lots")));
        var problem = await ProblemAssert.ReadAsync(schemaInvalid, HttpStatusCode.UnprocessableEntity);
        Assert.Contains(problem["errors"]!.AsArray(), e => e!["pointer"]!.GetValue<string>() == "/limits/maxInputTokens");

        var extraVariable = await admin.PostAsync($"/admin/features/{Feature}/versions",
            Json(FeatureDocuments.Make(Feature, "1.3.0", edit: d => d["variables"]!.AsArray().Add("seniority"))));
        problem = await ProblemAssert.ReadAsync(extraVariable, HttpStatusCode.UnprocessableEntity);
        Assert.Contains(problem["errors"]!.AsArray(), e => e!["pointer"]!.GetValue<string>() == "/variables");

        // Not JSON at all is malformed (400); JSON that breaks the rules is unprocessable (422, above).
        var notJson = await admin.PostAsync($"/admin/features/{Feature}/versions", Json("{oops"));
        await ProblemAssert.ReadAsync(notJson, HttpStatusCode.BadRequest);

        await ProblemAssert.ReadAsync(await admin.PostAsJsonAsync($"/admin/features/{Feature}/rollback", new { toVersion = "9.9.9", reason = "typo" }), HttpStatusCode.NotFound);
        await ProblemAssert.ReadAsync(await admin.PostAsJsonAsync($"/admin/features/{Feature}/rollback", new { toVersion = "1.2.2" }), HttpStatusCode.BadRequest);

        var republished = await admin.PostAsync($"/admin/features/{Feature}/versions",
            Json(FeatureDocuments.Make(Feature, "1.2.3", edit: d => d["limits"]!["maxOutputTokens"] = 900)));
        await ProblemAssert.ReadAsync(republished, HttpStatusCode.Conflict);
        var samePrompt = await admin.PostAsJsonAsync($"/admin/features/{Feature}/prompts/system/v2.1", new { text = "Different text." });
        await ProblemAssert.ReadAsync(samePrompt, HttpStatusCode.Conflict);

        // Size caps: the feature's versions, prompts and audit share one storage row.
        var longPrompt = await admin.PostAsJsonAsync($"/admin/features/{Feature}/prompts/system/v9.9", new { text = new string('x', 32_001) });
        problem = await ProblemAssert.ReadAsync(longPrompt, HttpStatusCode.UnprocessableEntity);
        Assert.Contains(problem["errors"]!.AsArray(), e => e!["pointer"]!.GetValue<string>() == "/text");
        // Templates an admin publishes run on every replica: one that loops or grows without bound is refused.
        foreach (var template in new[] { "{% for i in (1..100000000) %}x{% endfor %}", "{% for i in (1..9) %}{{ user_profile }}{% endfor %}" })
        {
            var refused = await admin.PostAsJsonAsync($"/admin/features/{Feature}/prompts/user/v9.8", new { text = template });
            problem = await ProblemAssert.ReadAsync(refused, HttpStatusCode.UnprocessableEntity);
            Assert.Contains(problem["errors"]!.AsArray(), e => e!["pointer"]!.GetValue<string>() == "/text" && e["message"]!.GetValue<string>().Contains("refused", StringComparison.Ordinal));
        }

        // A system prompt is sent as written: one with a variable is refused rather than sent with "{{ user_profile }}" in it.
        var systemWithVariable = await admin.PostAsJsonAsync($"/admin/features/{Feature}/prompts/system/v9.7", new { text = "You advise {{ user_profile }}." });
        problem = await ProblemAssert.ReadAsync(systemWithVariable, HttpStatusCode.UnprocessableEntity);
        Assert.Contains(problem["errors"]!.AsArray(), e => e!["pointer"]!.GetValue<string>() == "/text" && e["message"]!.GetValue<string>().Contains("not rendered", StringComparison.Ordinal));

        var longReason = new string('r', 201);
        await ProblemAssert.ReadAsync(await admin.PostAsJsonAsync($"/admin/features/{Feature}/rollback", new { toVersion = "1.2.2", reason = longReason }), HttpStatusCode.BadRequest);
        await ProblemAssert.ReadAsync(await admin.PostAsJsonAsync($"/admin/features/{Feature}/activate", new { version = "1.2.2", reason = longReason }), HttpStatusCode.BadRequest);

        foreach (var (key, status) in new[] { ((string?)null, HttpStatusCode.Unauthorized), (ApiReplica.ClientKey, HttpStatusCode.Forbidden), (ApiReplica.ReaderAdminKey, HttpStatusCode.Forbidden) })
        {
            await ProblemAssert.ReadAsync(await A.Client(key).PostAsJsonAsync($"/admin/features/{Feature}/rollback", new { reason = "x" }), status);
            await ProblemAssert.ReadAsync(await A.Client(key).PostAsync($"/admin/features/{Feature}/versions", Json(FeatureDocuments.Make(Feature, "1.3.0"))), status);
        }

        // Re-read: the revision, the active snapshot (its prompt texts included) and the audit are as they were.
        Assert.Equal(before, await RevisionAsync());
        // The 409 was for system prompt v2.1, which the active version uses: its text is unchanged.
        var reread = (await grain.GetActiveAsync())!;
        Assert.Equal("v2.1", reread.SystemPromptVersion);
        Assert.Equal(
            (active!.FeatureVersion, active.SystemPrompt, active.UserPromptVersion, active.UserTemplate, active.Revision),
            (reread.FeatureVersion, reread.SystemPrompt, reread.UserPromptVersion, reread.UserTemplate, reread.Revision));
        Assert.Equal(overview.Audit.Count, (await grain.GetOverviewAsync()).Audit.Count);
    }

    private async Task<long> RevisionAsync() =>
        JsonNode.Parse(await A.Client(ApiReplica.AdminKey).GetStringAsync($"/admin/features/{Feature}"))!["revision"]!.GetValue<long>();

    /// <summary>Polls both replicas until each serves the given versions; returns how long that took.</summary>
    private async Task<TimeSpan> WaitForVersionsAsync(string featureVersion, string systemPrompt, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var pending = new HashSet<ApiReplica> { A, B };
        while (pending.Count > 0)
        {
            foreach (var replica in pending.ToList())
            {
                var meta = (await PostAsync(replica))["meta"]!;
                if (meta["featureVersion"]!.GetValue<string>() == featureVersion && meta["systemPromptVersion"]!.GetValue<string>() == systemPrompt)
                {
                    pending.Remove(replica);
                }
            }

            Assert.True(clock.Elapsed < limit + limit, $"replicas still serve the old version after {clock.Elapsed}");
        }

        return clock.Elapsed;
    }

    private static async Task<JsonNode> PostAsync(ApiReplica replica)
    {
        var response = await replica.Client().PostAsJsonAsync("/v1/career-paths", new
        {
            userId = $"versioning-{Guid.NewGuid():N}",
            userProfile = "Backend engineer, 6 years of Go",
            jobMarketData = "Platform Engineer: $140k-190k, SRE: $135k-185k",
        });
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");
}
