using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Navigator.Testing;

namespace Navigator.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class CareerPathsApiTests(ApiFixture fixture)
{
    private static string Month => TestClock.Month;

    private static object Body(string userId = "u-123", string? provider = null) => new
    {
        userId,
        userProfile = "Software Engineer, 5 years, Python/Java, interested in AI/ML",
        jobMarketData = "AI Engineer: $120k-180k, ML Engineer: $130k-200k, Data Scientist: $110k-170k",
        provider,
    };

    [Fact]
    public async Task Returns_recommendations_with_the_versions_and_costs_it_used()
    {
        var response = await fixture.Client().PostAsJsonAsync("/v1/career-paths", Body());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var recommendations = json["recommendations"]!.AsArray();
        Assert.True(recommendations.Count >= 3);
        foreach (var r in recommendations)
        {
            Assert.False(string.IsNullOrEmpty(r!["title"]!.GetValue<string>()));
            Assert.InRange(r["fitScore"]!.GetValue<double>(), 0, 1);
            Assert.Equal("USD", r["salaryRange"]!["currency"]!.GetValue<string>());
            Assert.True(r["salaryRange"]!["min"]!.GetValue<decimal>() <= r["salaryRange"]!["max"]!.GetValue<decimal>());
        }

        var meta = json["meta"]!;
        Assert.Equal("1.2.3", meta["featureVersion"]!.GetValue<string>());
        Assert.Equal("v2.1", meta["systemPromptVersion"]!.GetValue<string>());
        Assert.Equal("v1.5", meta["userPromptVersion"]!.GetValue<string>());
        Assert.Equal("provider_comparison", meta["experimentId"]!.GetValue<string>());
        Assert.Contains(meta["variantId"]!.GetValue<string>(), new[] { "variant_a", "variant_b" });
        Assert.Equal(meta["variantId"]!.GetValue<string>() == "variant_a" ? "openai" : "anthropic", meta["provider"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(meta["model"]!.GetValue<string>()));
        Assert.True(meta["inputTokens"]!.GetValue<int>() > 100);
        Assert.True(meta["outputTokens"]!.GetValue<int>() > 50);
        Assert.True(meta["costUsd"]!.GetValue<decimal>() > 0);
        // The simulated provider answers after at least 5 ms here; the deadline is 3 s.
        Assert.InRange(meta["latencyMs"]!.GetValue<long>(), 5, 3000);
        Assert.False(meta["cached"]!.GetValue<bool>());
        Assert.False(meta["failover"]!.GetValue<bool>());
        Assert.False(meta["truncated"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("openai", "gpt-4o")]
    [InlineData("anthropic", "claude-sonnet-4-5")]
    public async Task The_provider_field_overrides_the_experiment_choice(string provider, string model)
    {
        // Ten users land in both variants; every one of them is served by the provider asked for.
        for (var i = 0; i < 10; i++)
        {
            var json = JsonNode.Parse(await (await fixture.Client().PostAsJsonAsync("/v1/career-paths", Body($"override-{i}", provider))).Content.ReadAsStringAsync())!;
            Assert.Equal(provider, json["meta"]!["provider"]!.GetValue<string>());
            Assert.Equal(model, json["meta"]!["model"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Spend_is_recorded_in_the_month_budget()
    {
        var before = await BudgetAsync();
        var json = JsonNode.Parse(await (await fixture.Client().PostAsJsonAsync("/v1/career-paths", Body("budget-user"))).Content.ReadAsStringAsync())!;
        var cost = json["meta"]!["costUsd"]!.GetValue<decimal>();
        // The replica reports its lease every 250 ms; no grain call happened on the request itself.
        var after = await BudgetReports.WaitForSpentAsync(fixture.Client(ApiFixture.AdminKey), Month, before.SpentUsd + cost);

        Assert.True(cost > 0);
        Assert.Equal(before.SpentUsd + cost, after.SpentUsd);
        Assert.Equal(0m, after.InFlightUsd);
        Assert.Contains(after.Leases, l => l.ChargedUsd >= cost);
    }

    public static TheoryData<string, string?, HttpStatusCode> BadRequests => new()
    {
        { "", "application/json", HttpStatusCode.BadRequest },
        { "{not json", "application/json", HttpStatusCode.BadRequest },
        { "[]", "application/json", HttpStatusCode.BadRequest },
        { "null", "application/json", HttpStatusCode.BadRequest },
        { """{"userId":"u1","jobMarketData":"m"}""", "application/json", HttpStatusCode.BadRequest },
        { """{"userId":"u1","userProfile":"p","jobMarketData":"m","provider":"gemini"}""", "application/json", HttpStatusCode.BadRequest },
        { """{"userId":42,"userProfile":"p","jobMarketData":"m"}""", "application/json", HttpStatusCode.BadRequest },
        { "{\"userId\":\"u1\",\"userProfile\":\"" + new string('x', 1024 * 1024) + "\",\"jobMarketData\":\"m\"}", "application/json", HttpStatusCode.RequestEntityTooLarge },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_input_gets_a_problem_and_charges_nothing(string body, string? contentType, HttpStatusCode expected)
    {
        var before = await BudgetAsync();
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = contentType is null ? null : new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);

        var response = await fixture.Client().PostAsync("/v1/career-paths", content);

        await ProblemAssert.ReadAsync(response, expected);
        var after = await BudgetAsync();
        Assert.Equal(before.SpentUsd, after.SpentUsd);
        // Lease headroom moves with the replica's recent spend; what matters is that nothing started.
        Assert.Equal(0m, after.InFlightUsd);
    }

    [Fact]
    public async Task Missing_user_profile_names_the_field()
    {
        var response = await fixture.Client().PostAsJsonAsync("/v1/career-paths", new { userId = "u1", jobMarketData = "m" });
        var problem = await ProblemAssert.ReadAsync(response, HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["userProfile"]);
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("wrong-key-123", HttpStatusCode.Unauthorized)]
    [InlineData(ApiFixture.AdminKey, HttpStatusCode.Forbidden)]
    public async Task Career_paths_need_the_client_key(string? key, HttpStatusCode expected)
    {
        var before = await BudgetAsync();
        var response = await fixture.Client(key).PostAsJsonAsync("/v1/career-paths", Body());
        await ProblemAssert.ReadAsync(response, expected);
        Assert.Equal(before.SpentUsd, (await BudgetAsync()).SpentUsd);
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("wrong-key-123", HttpStatusCode.Unauthorized)]
    [InlineData(ApiFixture.ClientKey, HttpStatusCode.Forbidden)]
    public async Task Admin_endpoints_need_the_admin_key(string? key, HttpStatusCode expected)
    {
        var response = await fixture.Client(key).GetAsync($"/admin/budget/{Month}");
        await ProblemAssert.ReadAsync(response, expected);
    }

    [Fact]
    public async Task Every_request_writes_one_telemetry_line_failures_included()
    {
        var ok = await fixture.Client().PostAsJsonAsync("/v1/career-paths", Body("telemetry-user"));
        var bad = await fixture.Client().PostAsJsonAsync("/v1/career-paths", new { userId = "telemetry-user" });
        var okId = ok.Headers.GetValues("X-Request-Id").Single();
        var badId = bad.Headers.GetValues("X-Request-Id").Single();

        var lines = await TelemetryFiles.WaitForAsync(fixture.DataDirectory,
            n => n["requestId"]!.GetValue<string>() == okId, n => n["requestId"]!.GetValue<string>() == badId);
        var success = lines[0];
        var meta = JsonNode.Parse(await ok.Content.ReadAsStringAsync())!["meta"]!;
        Assert.Equal(200, success["status"]!.GetValue<int>());
        Assert.Equal("success", success["outcome"]!.GetValue<string>());
        // The line and the response are made from the same result: one latency, one cost.
        Assert.Equal(meta["latencyMs"]!.GetValue<long>(), success["latencyMs"]!.GetValue<long>());
        Assert.Equal(meta["costUsd"]!.GetValue<decimal>(), success["costUsd"]!.GetValue<decimal>());
        Assert.Equal(meta["attempts"]![0]!["maxOutputTokens"]!.GetValue<int>(), success["maxOutputTokens"]!.GetValue<int>());
        Assert.True(success["maxOutputTokens"]!.GetValue<int>() > 0);
        Assert.Equal("1.2.3", success["featureVersion"]!.GetValue<string>());
        Assert.Equal("v2.1", success["systemPromptVersion"]!.GetValue<string>());
        Assert.True(success["costUsd"]!.GetValue<decimal>() > 0);
        Assert.Single(success["attempts"]!.AsArray());
        var failure = lines[1];
        Assert.Equal(400, failure["status"]!.GetValue<int>());
        Assert.Equal("invalid", failure["outcome"]!.GetValue<string>());
        Assert.Equal(1, TelemetryFiles.Count(fixture.DataDirectory, okId));
        Assert.Equal(1, TelemetryFiles.Count(fixture.DataDirectory, badId));
    }

    [Fact]
    public async Task An_exhausted_budget_gets_429_with_retry_after_and_charges_nothing_more()
    {
        await using var own = fixture.InOwnMonth();
        var spent = await BudgetReports.CostOfAsync(await own.Client().PostAsJsonAsync("/v1/career-paths", Body("broke-user")));
        await BudgetReports.WaitForSpentAsync(own.Admin, own.Month, spent);
        (await own.Admin.PutAsJsonAsync($"/admin/budget/{own.Month}/limit", new { limitUsd = spent })).EnsureSuccessStatusCode();

        var response = await own.Client().PostAsJsonAsync("/v1/career-paths", Body("broke-user"));

        var problem = await ProblemAssert.ReadAsync(response, HttpStatusCode.TooManyRequests);
        Assert.Equal("/problems/budget-exhausted", problem["type"]!.GetValue<string>());
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        // The replica holds itself to what it has started, and tells the ledger so in its next report.
        var after = await BudgetReports.WaitForAsync(own.Admin, own.Month, v => v.ReservedUsd == 0);
        Assert.Equal(spent, after.SpentUsd);
        Assert.Equal(0m, after.ReservedUsd);
    }

    /// <summary>"this month" stands for the suite clock's month.</summary>
    [Theory]
    [InlineData("2026-13", """{"limitUsd":10}""")]
    [InlineData("november", """{"limitUsd":10}""")]
    [InlineData("this month", """{"limitUsd":-1}""")]
    [InlineData("this month", """{"limitUsd":"lots"}""")]
    [InlineData("this month", """{}""")]
    [InlineData("this month", """{"limitUsd":10,"dailyPacingFactor":-2}""")]
    public async Task Bad_budget_limits_are_refused_and_change_nothing(string month, string body)
    {
        var admin = fixture.Client(ApiFixture.AdminKey);
        month = month == "this month" ? Month : month;
        var before = await BudgetAsync();
        var auditBefore = await admin.GetStringAsync($"/admin/budget/{Month}/audit");

        var response = await admin.PutAsync($"/admin/budget/{Uri.EscapeDataString(month)}/limit", new StringContent(body, Encoding.UTF8, "application/json"));

        await ProblemAssert.ReadAsync(response, HttpStatusCode.BadRequest);
        var after = await BudgetAsync();
        Assert.Equal((before.LimitUsd, before.DailyCapUsd), (after.LimitUsd, after.DailyCapUsd));
        Assert.Equal(auditBefore, await admin.GetStringAsync($"/admin/budget/{Month}/audit"));
    }

    [Fact]
    public async Task Health_metrics_and_openapi_are_served()
    {
        var anonymous = fixture.Client(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);
        // Ready once the replica holds a feature snapshot: a replica that has just started may not yet.
        var ready = Stopwatch.StartNew();
        while ((await anonymous.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(ready.Elapsed < TimeSpan.FromSeconds(10), "not ready 10 s after start");
            await Task.Delay(100);
        }

        await fixture.Client().PostAsJsonAsync("/v1/career-paths", Body("metrics-user"));
        var metrics = await anonymous.GetStringAsync("/metrics");
        Assert.Contains("navigator_requests_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("navigator_request_duration_seconds_bucket{", metrics, StringComparison.Ordinal);
        Assert.Contains("navigator_tokens_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("navigator_cost_usd_total{", metrics, StringComparison.Ordinal);
        // Microsoft.Extensions.AI's OpenTelemetry layer: the gen_ai semantic-convention metrics.
        Assert.Contains("gen_ai_client_operation_duration_seconds_bucket{", metrics, StringComparison.Ordinal);

        var openApi = JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!;
        Assert.NotNull(openApi["paths"]!["/v1/career-paths"]!["post"]);
        Assert.NotNull(openApi["paths"]!["/admin/budget/{month}"]);
    }

    private Task<Apis.BudgetView> BudgetAsync() => BudgetReports.QuietAsync(fixture.Client(ApiFixture.AdminKey), Month);
}
