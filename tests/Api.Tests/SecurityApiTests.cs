using System.Net;
using System.Net.Http.Json;
using Navigator.Api.Apis;
using Navigator.Testing;

namespace Navigator.Api.Tests;

/// <summary>Named client keys that rotate, admin scopes, and the per-client rate limit, through the API.</summary>
[Collection(ApiCollection.Name)]
public sealed class SecurityApiTests(ApiFixture fixture)
{
    private const string OldRailsKey = "rails-key-2026-10-old";
    private const string NewRailsKey = "rails-key-2026-11-new";

    // An invalid body: it passes authentication and the rate limiter, then gets a 400, and spends nothing.
    private static readonly object Invalid = new { userId = "", userProfile = "", jobMarketData = "" };

    [Fact]
    public async Task A_read_scoped_admin_key_reads_and_gets_a_403_on_a_change_that_changes_nothing()
    {
        var reader = fixture.Client(ApiReplica.ReaderAdminKey);
        var before = await reader.GetFromJsonAsync<BudgetView>($"/admin/budget/{TestClock.Month}");

        var refused = await reader.PutAsJsonAsync($"/admin/budget/{TestClock.Month}/limit", new { limitUsd = 1 });

        var problem = await ProblemAssert.ReadAsync(refused, HttpStatusCode.Forbidden);
        Assert.Contains("read scope", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before!.LimitUsd, (await reader.GetFromJsonAsync<BudgetView>($"/admin/budget/{TestClock.Month}"))!.LimitUsd);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/admin/providers")).StatusCode);
        // A write-scoped key may change what the reader may not (the same limit it already has: nothing moves).
        var writer = fixture.Client(ApiReplica.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await writer.PutAsJsonAsync($"/admin/budget/{TestClock.Month}/limit", new { limitUsd = before.LimitUsd })).StatusCode);
    }

    [Fact]
    public async Task A_rotated_client_key_works_beside_the_old_one_and_the_old_one_stops_when_removed()
    {
        // A rolling rotation: replicas with both keys, then replicas with the new key only.
        await using var during = fixture.NewReplica(new Dictionary<string, string>
        {
            ["Auth:ClientKeys:rails-2026-10"] = OldRailsKey,
            ["Auth:ClientKeys:rails-2026-11"] = NewRailsKey,
        });
        await using var after = fixture.NewReplica(new Dictionary<string, string> { ["Auth:ClientKeys:rails-2026-11"] = NewRailsKey });

        Assert.Equal(HttpStatusCode.OK, (await during.Client(OldRailsKey).PostAsJsonAsync("/v1/career-paths", Body("rotation-old"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await during.Client(NewRailsKey).PostAsJsonAsync("/v1/career-paths", Body("rotation-new"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await after.Client(NewRailsKey).PostAsJsonAsync("/v1/career-paths", Body("rotation-new"))).StatusCode);
        var removed = await after.Client(OldRailsKey).PostAsJsonAsync("/v1/career-paths", Body("rotation-old"));
        await ProblemAssert.ReadAsync(removed, HttpStatusCode.Unauthorized);
        // A client key never opens the admin API.
        Assert.Equal(HttpStatusCode.Forbidden, (await during.Client(NewRailsKey).GetAsync("/admin/providers")).StatusCode);
    }

    [Fact]
    public async Task Over_its_rate_a_client_key_gets_a_429_with_retry_after_and_other_keys_do_not()
    {
        await using var limited = fixture.NewReplica(new Dictionary<string, string>
        {
            ["clientRateLimits:enabled"] = "true",
            ["clientRateLimits:default:requestsPerSecond"] = "1",
            ["clientRateLimits:default:burst"] = "2",
            ["clientRateLimits:clients:batch:requestsPerSecond"] = "1",
            ["clientRateLimits:clients:batch:burst"] = "5",
            ["Auth:ClientKeys:batch"] = "batch-client-key",
        });
        var client = limited.Client();
        var metricsBefore = PrometheusText.Sum(await limited.CreateClient().GetStringAsync("/metrics"), "navigator_client_rate_limited_total", ("client", "client"));

        // A key with a bucket of its own (5) is not limited by the default one (2). These also warm the replica
        // up, so the three requests below come well within a second, before the default bucket refills.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await limited.Client("batch-client-key").PostAsJsonAsync("/v1/career-paths", Invalid)).StatusCode);
        }

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 3; i++)
        {
            var response = await client.PostAsJsonAsync("/v1/career-paths", Invalid);
            statuses.Add(response.StatusCode);
            refused = response;
        }

        Assert.Equal([HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.TooManyRequests], statuses);
        var problem = await ProblemAssert.ReadAsync(refused!, HttpStatusCode.TooManyRequests);
        Assert.Equal(Problems.RateLimited, problem["type"]!.GetValue<string>());
        Assert.InRange(refused!.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        var exposition = await limited.CreateClient().GetStringAsync("/metrics");
        Assert.Equal(metricsBefore + 1, PrometheusText.Sum(exposition, "navigator_client_rate_limited_total", ("client", "client")));
        Assert.Equal(0, PrometheusText.Sum(exposition, "navigator_client_rate_limited_total", ("client", "batch")));
        Assert.DoesNotContain(ApiReplica.ClientKey, exposition, StringComparison.Ordinal);
    }

    private static object Body(string userId) => new
    {
        userId,
        userProfile = "Support engineer, 3 years, moving into SRE",
        jobMarketData = "SRE: $130k-180k, Platform Engineer: $140k-190k",
    };
}
