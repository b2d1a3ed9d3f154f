using System.Net;
using System.Net.Http.Json;
using Navigator.Api.Apis;
using Navigator.Api.Pipeline;

namespace Navigator.Api.Tests;

/// <summary><c>GET /admin/stats</c> sums every replica's figures, whichever replica answers.</summary>
[Collection(ReplicaCollection.Name)]
public sealed class StatsApiTests(TwoReplicaFixture fixture)
{
    private static object Body(string user) => new
    {
        userId = user,
        userProfile = "Software Engineer, 5 years, Python/Java, interested in AI/ML",
        jobMarketData = "AI Engineer: $120k-180k, ML Engineer: $130k-200k",
        provider = "openai",
    };

    [Fact]
    public async Task Stats_are_summed_over_both_replicas_whichever_answers()
    {
        // Replicas in a month of their own: the hours they report into hold only this test's requests.
        await using var own = fixture.InOwnMonth(2);
        var served = new List<CareerPathResponse>();
        for (var i = 0; i < 10; i++)
        {
            var response = await own.Client(i < 6 ? 0 : 1).PostAsJsonAsync("/v1/career-paths", Body($"stats-{i}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            served.Add((await response.Content.ReadFromJsonAsync<CareerPathResponse>())!);
        }

        var invalid = await own.Client(1).PostAsJsonAsync("/v1/career-paths", new { userId = "stats-bad" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);

        // Each replica sends its figures once a second; the answering replica also sends its own first.
        var admins = own.Replicas.Select(r => r.Client(ApiReplica.AdminKey)).ToArray();
        StatsResponse? stats = null;
        for (var attempt = 0; attempt < 100 && stats?.Totals.Requests != 11; attempt++)
        {
            await Task.Delay(100);
            stats = await admins[attempt % 2].GetFromJsonAsync<StatsResponse>("/admin/stats");
        }

        Assert.NotNull(stats);
        Assert.Equal(2, stats.Replicas);
        Assert.Equal(11, stats.Totals.Requests);
        Assert.Equal(10, stats.Totals.Outcomes["success"]);
        Assert.Equal(1, stats.Totals.Outcomes["invalid"]);
        Assert.Equal(Math.Round(10 / 11.0, 4), stats.Totals.SuccessRate);
        Assert.Equal(served.Sum(r => r.Meta.CostUsd), stats.Totals.CostUsd);
        Assert.Equal(served.Sum(r => r.Meta.InputTokens), stats.Totals.InputTokens);
        Assert.Equal(served.Sum(r => r.Meta.OutputTokens), stats.Totals.OutputTokens);
        Assert.Equal(served.Count(r => r.Meta.Cached), stats.Totals.CacheHits);
        Assert.NotNull(stats.Totals.LatencyMs.P50);
        Assert.True(stats.Totals.LatencyMs.P95 >= stats.Totals.LatencyMs.P50);
        Assert.Equal(served.Count(r => r.Meta.Provider == "openai"), stats.Providers["openai"].Requests);
        Assert.Equal(1, stats.Providers["none"].Requests);

        // The other replica answers the same totals: the figures are the cluster's, not the answering replica's.
        var other = await admins[1].GetFromJsonAsync<StatsResponse>("/admin/stats");
        Assert.Equal(11, other!.Totals.Requests);
        Assert.Equal(2, other.Replicas);

        // No since: the last 24 hours, from the start of a minute (minute filtering itself is a grain test).
        var expectedSince = stats.Until.AddHours(-24);
        Assert.InRange(expectedSince - stats.Since, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Assert.Equal(0, stats.Since.Second);
    }

    [Theory]
    [InlineData("yesterday", "is not a time")]
    [InlineData("2999-01-01T00:00:00Z", "in the future")]
    [InlineData("2000-01-01T00:00:00Z", "more than 7 days ago")]
    public async Task A_bad_since_is_refused_with_a_clear_error(string since, string detail)
    {
        var problem = await ProblemAssert.ReadAsync(
            await fixture.Replicas[0].Client(ApiReplica.AdminKey).GetAsync($"/admin/stats?since={Uri.EscapeDataString(since)}"), HttpStatusCode.BadRequest);
        Assert.Contains(detail, problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stats_need_an_admin_key()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await fixture.Replicas[0].Client().GetAsync("/admin/stats")).StatusCode);
    }
}
