using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;
using Navigator.Testing;

namespace Navigator.Api.Tests;

/// <summary>Two replicas with the response cache on, the real provider SDKs and the fake upstream; a cluster of its own.</summary>
public sealed class CacheFixture() : FakeUpstreamFixture("cache")
{
    protected override IReadOnlyDictionary<string, string> MoreApiSettings => new Dictionary<string, string> { ["cache:enabled"] = "true" };
}

[CollectionDefinition(Name)]
public sealed class CacheCollection : ICollectionFixture<CacheFixture>
{
    public const string Name = "cache";
}

[Collection(CacheCollection.Name)]
public sealed class ResponseCacheTests(CacheFixture fixture) : RestoringTests
{
    private const string Feature = "career_path_navigator";
    private long OpenAiCalls => fixture.Upstream.Faults.Requests("openai");

    public override async Task InitializeAsync()
    {
        var experiments = fixture.Replicas[0].Services.GetRequiredService<ExperimentCache>();
        var active = await fixture.Replicas[0].Services.GetRequiredService<FeatureConfigCache>().GetAsync(CancellationToken.None);
        // Users of this test only: each has a daily request quota of its own.
        var prefix = $"cache-{Guid.NewGuid():N}";
        var users = new List<string>();
        var variant = (await experiments.AssignAsync(active, $"{prefix}-0", CancellationToken.None)).Assignment!.VariantId;
        for (var i = 0; users.Count < 60; i++)
        {
            if ((await experiments.AssignAsync(active, $"{prefix}-{i}", CancellationToken.None)).Assignment!.VariantId == variant)
            {
                users.Add($"{prefix}-{i}");
            }
        }

        _users = [.. users];
        fixture.Upstream.Faults.Reset();
        foreach (var provider in new[] { "openai", "anthropic" })
        {
            await fixture.SetModeAsync(provider, "auto");
        }
    }

    /// <summary>
    /// Users the experiment puts in one variant. The variant is part of the cache key: users in different
    /// variants never share an answer, so a test of sharing picks users of one (filled in InitializeAsync).
    /// </summary>
    private string[] _users = [];

    /// <summary>A question no other test asks: its profile is unique. <paramref name="user"/> indexes the users of one variant.</summary>
    private object Question(string? profile = null, int user = 0) => new
    {
        userId = _users[user],
        userProfile = profile ?? $"Data analyst {Guid.NewGuid():N}, 4 years of SQL and Python",
        jobMarketData = "Data Engineer: $120k-170k, Analytics Engineer: $115k-160k",
        provider = "openai",
    };

    private static async Task<JsonNode> AskAsync(ApiReplica replica, object body, string? cacheControl = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/career-paths") { Content = JsonContent.Create(body) };
        if (cacheControl is not null)
        {
            request.Headers.CacheControl = CacheControlHeaderValue.Parse(cacheControl);
        }

        var response = await replica.Client().SendAsync(request);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(expected == response.StatusCode, $"{response.StatusCode}: {json}");
        return json;
    }

    private static (bool Cached, bool Stale) Flags(JsonNode json) =>
        (json["meta"]!["cached"]!.GetValue<bool>(), json["meta"]!["stale"]!.GetValue<bool>());

    [Fact]
    public async Task A_repeated_question_is_answered_from_the_cache_on_either_replica_whatever_the_user_or_whitespace()
    {
        var profile = $"Backend engineer {Guid.NewGuid():N}, 6 years of Go";
        var calls = OpenAiCalls;
        // A slow provider, so that a hit's own latency cannot be mistaken for the answer's original one.
        fixture.Upstream.Faults.Set("openai", new FakeUpstream.Faults { LatencyMs = 300 });
        var first = await AskAsync(fixture.Replicas[0], Question(profile));
        Assert.Equal((false, false), Flags(first));
        Assert.Equal(calls + 1, OpenAiCalls);
        Assert.True(first["meta"]!["latencyMs"]!.GetValue<long>() >= 300);

        // The same replica (its first level), the other replica (the cluster's level), another user, other whitespace.
        var again = await AskAsync(fixture.Replicas[0], Question(profile, user: 1));
        var elsewhere = await AskAsync(fixture.Replicas[1], Question($"  {profile.Replace(" ", "  \n ", StringComparison.Ordinal)}\t"));
        foreach (var hit in new[] { again, elsewhere })
        {
            Assert.Equal((true, false), Flags(hit));
            Assert.Equal(0m, hit["meta"]!["costUsd"]!.GetValue<decimal>());
            Assert.Equal(first["recommendations"]!.ToJsonString(), hit["recommendations"]!.ToJsonString());
            Assert.Equal("gpt-4o", hit["meta"]!["model"]!.GetValue<string>());
            Assert.Empty(hit["meta"]!["attempts"]!.AsArray());
            Assert.InRange(hit["meta"]!["latencyMs"]!.GetValue<long>(), 0, 299); // the hit's own, not the answer's 300+ ms
        }

        Assert.Equal(calls + 1, OpenAiCalls);

        // Another profile is another question; no-store neither reads nor writes; no-cache refreshes.
        Assert.Equal((false, false), Flags(await AskAsync(fixture.Replicas[0], Question(profile + " and Rust"))));
        Assert.Equal((false, false), Flags(await AskAsync(fixture.Replicas[0], Question(profile), "no-store")));
        Assert.Equal((false, false), Flags(await AskAsync(fixture.Replicas[1], Question(profile), "no-cache")));
        Assert.Equal(calls + 4, OpenAiCalls);
        Assert.Equal((true, false), Flags(await AskAsync(fixture.Replicas[1], Question(profile))));
        Assert.Equal(calls + 4, OpenAiCalls);
    }

    [Fact]
    public async Task A_hit_is_not_billed_and_is_not_a_provider_call_but_uses_the_users_quota_and_is_logged_as_cached()
    {
        var replica = fixture.Replicas[0];
        var admin = replica.Client(ApiReplica.AdminKey);
        var profile = $"Nurse {Guid.NewGuid():N} moving into health informatics";
        var user = $"hit-user-{Guid.NewGuid():N}";
        object Body() => new { userId = user, userProfile = profile, jobMarketData = "Clinical Informatics Analyst: $90k-120k", provider = "openai" };
        var paid = await AskAsync(replica, Body());
        var before = await BudgetReports.WaitForSpentAsync(admin, TestClock.Month,
            (await BudgetReports.QuietAsync(admin, TestClock.Month)).SpentUsd);

        var meters = replica.Services.GetRequiredService<IMeterFactory>();
        using var attempts = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "navigator.provider.attempts");
        using var cost = new MetricCollector<double>(meters, GatewayMetrics.MeterName, "navigator.cost.usd");
        using var tokens = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "navigator.tokens");
        using var cacheResults = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "navigator.cache.requests");
        var hits = new List<JsonNode>();
        for (var i = 1; i < ApiReplica.PerUserRequestsPerDay; i++)
        {
            hits.Add(await AskAsync(replica, Body()));
        }

        Assert.All(hits, h => Assert.Equal((true, false), Flags(h)));
        Assert.Empty(attempts.GetMeasurementSnapshot());
        Assert.Empty(cost.GetMeasurementSnapshot());
        Assert.Empty(tokens.GetMeasurementSnapshot());
        Assert.Equal(ApiReplica.PerUserRequestsPerDay - 1, cacheResults.GetMeasurementSnapshot().Count(m => Equals(m.Tags["result"], "hit")));
        var after = await BudgetReports.QuietAsync(admin, TestClock.Month);
        Assert.Equal((before.SpentUsd, 0m), (after.SpentUsd, after.InFlightUsd));

        // Twenty requests in a day, cached or not: the next one is refused.
        var refused = await replica.Client().PostAsJsonAsync("/v1/career-paths", Body());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);

        var id = hits[^1]["requestId"]!.GetValue<string>();
        var line = Assert.Single(await TelemetryFiles.WaitForAsync(replica.DataDirectory, n => n["requestId"]?.GetValue<string>() == id));
        Assert.True(line["cached"]!.GetValue<bool>());
        Assert.Equal(0m, line["costUsd"]!.GetValue<decimal>());
        Assert.Equal("openai", line["provider"]!.GetValue<string>());
        Assert.True(paid["meta"]!["costUsd"]!.GetValue<decimal>() > 0);
    }

    [Fact]
    public async Task Fifty_identical_misses_across_two_replicas_make_one_provider_call()
    {
        // A slow upstream, so that every request arrives while the first is still being answered.
        fixture.Upstream.Faults.Set("openai", new FakeUpstream.Faults { LatencyMs = 400 });
        var profile = $"Site reliability engineer {Guid.NewGuid():N}";
        var calls = OpenAiCalls;

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => AskAsync(fixture.Replicas[i % 2], Question(profile, user: i))));

        Assert.Equal(calls + 1, OpenAiCalls);
        Assert.Single(answers, a => !Flags(a).Cached);
        Assert.Equal(49, answers.Count(a => Flags(a) == (true, false)));
        Assert.Single(answers.Select(a => a["recommendations"]!.ToJsonString()).Distinct());
    }

    [Fact]
    public async Task When_the_one_call_fails_the_waiters_try_one_at_a_time_instead_of_piling_on()
    {
        // Both providers fail. Twenty identical requests at once would make 40 calls; coordinated, one
        // request at a time tries, and once both circuits have opened (4 calls each) the rest fail at once.
        fixture.Upstream.Faults.Set("openai", new FakeUpstream.Faults { Status = 500, LatencyMs = 50 });
        fixture.Upstream.Faults.Set("anthropic", new FakeUpstream.Faults { Status = 500, LatencyMs = 50 });
        Restore(async () =>
        {
            fixture.Upstream.Faults.Reset();
            await Task.Delay(TimeSpan.FromSeconds(1.2)); // the 1 s open period, then the half-open probes close them on the next calls
        });
        var profile = $"Mobile developer {Guid.NewGuid():N}";
        var before = fixture.Upstream.Faults.Requests("openai") + fixture.Upstream.Faults.Requests("anthropic");

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => AskAsync(fixture.Replicas[i % 2], Question(profile, user: i), expected: HttpStatusCode.ServiceUnavailable)));

        var made = fixture.Upstream.Faults.Requests("openai") + fixture.Upstream.Faults.Requests("anthropic") - before;
        Assert.Equal(20, answers.Length);
        // Both circuits open after 4 failed calls each, seen by the replicas within a batch (100 ms) and a push.
        Assert.InRange(made, 2, 14);
    }

    [Fact]
    public async Task Past_its_ttl_an_answer_is_served_stale_when_every_circuit_is_open_and_no_cache_gets_the_503()
    {
        await using var shortLived = fixture.NewReplica(new Dictionary<string, string> { ["cache:ttlSeconds"] = "1" });
        var question = Question();
        var fresh = await AskAsync(shortLived, question);
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        foreach (var provider in new[] { "openai", "anthropic" })
        {
            await fixture.SetModeAsync(provider, "forceOpen");
        }

        Restore(async () =>
        {
            foreach (var provider in new[] { "openai", "anthropic" })
            {
                await fixture.SetModeAsync(provider, "auto");
            }
        });
        // The new replica learns the modes like the others, by push.
        await FakeUpstreamFixture.WaitUntilAsync(async () =>
            JsonNode.Parse(await shortLived.Client(ApiReplica.AdminKey).GetStringAsync("/admin/providers"))!.AsArray()
                .All(p => p!["replicaState"]?.GetValue<string>() == "open"), TimeSpan.FromSeconds(3));

        var stale = await AskAsync(shortLived, question);
        Assert.Equal((true, true), Flags(stale));
        Assert.Equal(fresh["recommendations"]!.ToJsonString(), stale["recommendations"]!.ToJsonString());
        var refused = await AskAsync(shortLived, question, "no-cache", HttpStatusCode.ServiceUnavailable);
        Assert.Equal("/problems/no-provider", refused["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task After_a_rollback_the_same_question_is_a_miss_answered_with_the_archived_prompts_and_a_purge_empties_the_cache()
    {
        var admin = fixture.Replicas[0].Client(ApiReplica.AdminKey);
        var question = Question();
        Assert.Equal((false, false), Flags(await AskAsync(fixture.Replicas[0], question)));
        Assert.Equal((true, false), Flags(await AskAsync(fixture.Replicas[1], question)));

        (await admin.PostAsJsonAsync($"/admin/features/{Feature}/rollback", new { toVersion = "1.2.2", reason = "cache test" })).EnsureSuccessStatusCode();
        Restore(async () => (await admin.PostAsJsonAsync($"/admin/features/{Feature}/rollback", new { toVersion = "1.2.3", reason = "after cache test" })).EnsureSuccessStatusCode());
        await WaitForVersionAsync("1.2.2");

        var archived = await AskAsync(fixture.Replicas[1], question);
        Assert.Equal((false, false), Flags(archived));
        Assert.Equal(("1.2.2", "v2.0", "v1.4"), (archived["meta"]!["featureVersion"]!.GetValue<string>(),
            archived["meta"]!["systemPromptVersion"]!.GetValue<string>(), archived["meta"]!["userPromptVersion"]!.GetValue<string>()));

        // Back on 1.2.3, its answer is still there; a purge (audited) makes it unreachable on every replica.
        (await admin.PostAsJsonAsync($"/admin/features/{Feature}/rollback", new { toVersion = "1.2.3", reason = "back" })).EnsureSuccessStatusCode();
        await WaitForVersionAsync("1.2.3");
        Assert.Equal((true, false), Flags(await AskAsync(fixture.Replicas[0], question)));

        await AssertBadPurgeAsync(admin);
        var purge = await admin.PostAsJsonAsync($"/admin/features/{Feature}/cache/purge", new { reason = "new market data source" });
        Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
        await FakeUpstreamFixture.WaitUntilAsync(async () => !Flags(await AskAsync(fixture.Replicas[1], question, "no-store")).Cached
            && !Flags(await AskAsync(fixture.Replicas[1], question)).Cached, TimeSpan.FromSeconds(3));
        var audit = JsonNode.Parse(await admin.GetStringAsync($"/admin/features/{Feature}"))!["audit"]!.AsArray();
        Assert.Contains(audit, a => a!["action"]!.GetValue<string>() == "purge-cache" && a["reason"]!.GetValue<string>() == "new market data source");
    }

    private async Task AssertBadPurgeAsync(HttpClient admin)
    {
        var revision = JsonNode.Parse(await admin.GetStringAsync($"/admin/features/{Feature}"))!["revision"]!.GetValue<long>();
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync($"/admin/features/{Feature}/cache/purge", new { reason = " " })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsJsonAsync("/admin/features/no_such_feature/cache/purge", new { reason = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await fixture.Replicas[0].Client().PostAsJsonAsync($"/admin/features/{Feature}/cache/purge", new { reason = "x" })).StatusCode);
        Assert.Equal(revision, JsonNode.Parse(await admin.GetStringAsync($"/admin/features/{Feature}"))!["revision"]!.GetValue<long>());
    }

    private async Task WaitForVersionAsync(string version)
    {
        foreach (var replica in fixture.Replicas)
        {
            await FakeUpstreamFixture.WaitUntilAsync(async () =>
                (await AskAsync(replica, Question(), "no-store"))["meta"]!["featureVersion"]!.GetValue<string>() == version, TimeSpan.FromSeconds(3));
        }
    }
}
