using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>A replica stopped by SIGTERM under load writes the line of every request it answered, to its file and to stdout.</summary>
public sealed class TelemetryShutdownTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task No_answered_request_loses_its_line_on_a_graceful_stop()
    {
        var clusterId = TestStorage.NewServiceId("telemetry-stop");
        var serviceId = TestStorage.NewServiceId("telemetry-stop");
        await using var silo = await SiloProcess.StartAsync(clusterId, serviceId);
        await using var api = await ApiProcess.StartAsync(clusterId, serviceId, settings: new Dictionary<string, string>
        {
            ["clientRateLimits__enabled"] = "false",
            ["Telemetry__Stdout"] = "true",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        using var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "dev-client-key");
        http.DefaultRequestHeaders.CacheControl = new CacheControlHeaderValue { NoStore = true };

        // Requests keep arriving while the replica is told to stop.
        var ids = new List<string>();
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < 400; i++)
            {
                try
                {
                    using var response = await http.PostAsJsonAsync("/v1/career-paths", new
                    {
                        userId = $"stop-{i}",
                        userProfile = "Software Engineer, 5 years, Python/Java, interested in AI/ML",
                        jobMarketData = "AI Engineer: $120k-180k, ML Engineer: $130k-200k",
                    });
                    if (response.Headers.TryGetValues("X-Request-Id", out var id))
                    {
                        lock (ids)
                        {
                            ids.Add(id.Single());
                        }
                    }
                }
                catch (HttpRequestException)
                {
                    return; // the replica stopped listening
                }
            }
        });
        await Task.Delay(1500);
        var clock = Stopwatch.StartNew();
        var exitCode = await api.TerminateAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"stopped in {clock.ElapsedMilliseconds} ms with exit code {exitCode}; {ids.Count} requests answered");
        await sending;

        Assert.Equal(0, exitCode);
        Assert.True(ids.Count > 10, $"only {ids.Count} requests were answered before the stop");
        var telemetry = Path.Combine(api.DataDirectory, "telemetry");
        var inFiles = Directory.GetFiles(telemetry, "*.jsonl").SelectMany(File.ReadLines).Select(l => JsonNode.Parse(l)!["requestId"]!.GetValue<string>()).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), inFiles.Order(StringComparer.Ordinal));
        var onStdout = api.Log.Split('\n').Count(l => l.StartsWith("{\"timestamp\"", StringComparison.Ordinal));
        Assert.Equal(ids.Count, onStdout);
    }
}
