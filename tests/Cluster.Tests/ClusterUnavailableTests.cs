using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>An API replica whose cluster is not there yet: live at once, not ready, 503s with Retry-After, then ready when a silo comes.</summary>
public sealed class ClusterUnavailableTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task An_api_without_a_cluster_is_live_not_ready_and_answers_503_until_a_silo_starts()
    {
        var clusterId = TestStorage.NewServiceId("no-cluster");
        var serviceId = TestStorage.NewServiceId("no-cluster");
        var clock = Stopwatch.StartNew();
        await using var api = await ApiProcess.StartAsync(clusterId, serviceId, waitForReady: false);
        output.WriteLine($"live after {clock.ElapsedMilliseconds} ms with no silo");
        using var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health/ready")).StatusCode);
        var refused = await PostAsync(http);
        Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable, $"{refused.StatusCode}: {await refused.Content.ReadAsStringAsync()}\n{api.Log}");
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal("/problems/cluster-unavailable", problem["type"]!.GetValue<string>());
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        var admin = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/admin/features/career_path_navigator")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "dev-admin-key") },
        });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, admin.StatusCode);

        // A silo starts: the replica connects by itself, becomes ready and serves.
        await using var silo = await SiloProcess.StartAsync(clusterId, serviceId);
        clock.Restart();
        while ((await http.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"not ready 60 s after the silo started:\n{api.Log}");
            await Task.Delay(250);
        }

        output.WriteLine($"ready {clock.ElapsedMilliseconds} ms after the silo started");
        var served = await PostAsync(http);
        Assert.True(served.StatusCode == HttpStatusCode.OK, await served.Content.ReadAsStringAsync());
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http) =>
        http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/career-paths")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "dev-client-key") },
            Content = new StringContent(
                $$"""{"userId":"no-cluster-{{Guid.NewGuid():N}}","userProfile":"Data analyst, 4 years of SQL","jobMarketData":"Data Engineer: $120k-170k","provider":"openai"}""",
                Encoding.UTF8, "application/json"),
        });
}
