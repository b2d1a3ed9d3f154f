using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>
/// Azure Storage (an Azurite of the test's own) stops for 10 s under a steady load, then starts again on the same data:
/// requests that need a durable write fail closed with 503 and Retry-After (never a 500), nothing is overspent or lost,
/// the replica stays ready, and the gateway recovers by itself within seconds of storage returning.
/// </summary>
public sealed class StorageOutageTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Storage_down_for_ten_seconds_fails_closed_and_recovers_by_itself()
    {
        var work = Directory.CreateTempSubdirectory("navigator-storage-outage-");
        var (blob, table) = (TestStorage.FreePort(), TestStorage.FreePort());
        var storage = await Azurite.StartAsync(work.FullName, blob, table);
        try
        {
            var connection = Azurite.ConnectionString(blob, table);
            var clusterId = TestStorage.NewServiceId("storage-outage");
            var serviceId = TestStorage.NewServiceId("storage-outage");
            var onStorage = new Dictionary<string, string> { ["ConnectionStrings__AzureStorage"] = connection };
            await using var silo = await SiloProcess.StartAsync(clusterId, serviceId, onStorage);
            await using var api = await ApiProcess.StartAsync(clusterId, serviceId, settings: new Dictionary<string, string>(onStorage)
            {
                ["clientRateLimits__enabled"] = "false",
                ["perUser__requestsPerDay"] = "100000",
            });
            using var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "dev-client-key");
            http.DefaultRequestHeaders.CacheControl = new CacheControlHeaderValue { NoStore = true };

            // A steady 20 requests a second: 5 s before, 10 s of outage, then until 15 s after storage is back.
            var clock = Stopwatch.StartNew();
            var results = new ConcurrentBag<(TimeSpan At, int Status, string? Type, TimeSpan? RetryAfter)>();
            using var stop = new CancellationTokenSource();
            var load = Task.Run(async () =>
            {
                var inFlight = new List<Task>();
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var n = i;
                    inFlight.Add(Task.Run(async () =>
                    {
                        var sent = clock.Elapsed;
                        using var response = await http.PostAsJsonAsync("/v1/career-paths", new
                        {
                            userId = $"outage-{n % 50}",
                            userProfile = "Software Engineer, 5 years, Python/Java, interested in AI/ML",
                            jobMarketData = "AI Engineer: $120k-180k, ML Engineer: $130k-200k",
                        });
                        var type = response.IsSuccessStatusCode ? null : JsonNode.Parse(await response.Content.ReadAsStringAsync())?["type"]?.GetValue<string>();
                        results.Add((sent, (int)response.StatusCode, type, response.Headers.RetryAfter?.Delta));
                    }));
                    await Task.Delay(50);
                }

                await Task.WhenAll(inFlight);
            });

            await Task.Delay(TimeSpan.FromSeconds(5));
            var down = clock.Elapsed;
            await storage.StopAsync();
            // The replica stays ready while storage is down: it still serves from its lease or refuses with a 503 and
            // Retry-After, which a Service with no ready endpoint could not (its clients would get connection errors).
            using var probe = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
            var readiness = new List<(HttpStatusCode Status, TimeSpan Took)>();
            for (var i = 0; i < 3; i++)
            {
                await Task.Delay(TimeSpan.FromSeconds(2));
                var asked = Stopwatch.StartNew();
                readiness.Add(((await probe.GetAsync("/health/ready")).StatusCode, asked.Elapsed));
            }

            var rest = down + TimeSpan.FromSeconds(10) - clock.Elapsed;
            await Task.Delay(rest > TimeSpan.Zero ? rest : TimeSpan.Zero);
            storage = await Azurite.StartAsync(work.FullName, blob, table);
            var up = clock.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(15));
            await stop.CancelAsync();
            await load;

            var all = results.OrderBy(r => r.At).ToList();
            var refused = all.Where(r => r.Status != 200).ToList();
            output.WriteLine($"{all.Count} requests: {all.Count(r => r.Status == 200)} answered, " + string.Join(", ", refused.GroupBy(r => $"{r.Status} {r.Type}").Select(g => $"{g.Key}: {g.Count()}")));

            // Fail closed, never a 500: a refusal is a 503 the client may retry after Retry-After (or the deadline's 504).
            Assert.All(refused, r => Assert.True(
                (r.Status == 503 && r.Type == "/problems/cluster-unavailable" && r.RetryAfter > TimeSpan.Zero) || r.Status == 504,
                $"{r.Status} {r.Type} at {r.At.TotalSeconds:0.0} s"));
            Assert.True(all.Count(r => r.At < down && r.Status == 200) > 50, "the load was not served before the outage");
            output.WriteLine($"readiness while storage was down: {string.Join(", ", readiness.Select(r => $"{(int)r.Status} in {r.Took.TotalMilliseconds:0} ms"))}");
            Assert.All(readiness, r => Assert.Equal(HttpStatusCode.OK, r.Status));

            // It recovers by itself: within 10 s of storage returning, every request is answered again.
            var recovered = all.Where(r => r.At > up + TimeSpan.FromSeconds(10)).ToList();
            Assert.NotEmpty(recovered);
            Assert.All(recovered, r => Assert.Equal(200, r.Status));
            var firstServed = all.First(r => r.At > up && r.Status == 200).At - up;
            output.WriteLine($"first answer {firstServed.TotalSeconds:0.0} s after storage returned; outage from {down.TotalSeconds:0.0} s to {up.TotalSeconds:0.0} s");

            // Nothing acknowledged is lost and nothing is overspent: the ledger holds exactly what the answers were charged,
            // plus what it charged at expiry for a lease whose reports the outage stopped (unreconciledUsd: it may overstate
            // the month, never understate it), and stays under its limit.
            using var admin = new HttpClient { BaseAddress = api.BaseAddress };
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "dev-admin-key");
            // The API process keeps the system clock (the suite clock applies to in-process replicas only).
            var month = DateTime.UtcNow.ToString("yyyy-MM", CultureInfo.InvariantCulture);
            var lines = await TelemetryLinesAsync(api.DataDirectory, all.Count);
            var charged = lines.Sum(l => l["costUsd"]!.GetValue<decimal>());
            JsonNode budget;
            var settle = Stopwatch.StartNew();
            decimal Known(JsonNode b) => b["spentUsd"]!.GetValue<decimal>() - b["unreconciledUsd"]!.GetValue<decimal>();
            do
            {
                await Task.Delay(250);
                budget = (await admin.GetFromJsonAsync<JsonNode>($"/admin/budget/{month}"))!;
            }
            while ((Known(budget) != charged || budget["inFlightUsd"]!.GetValue<decimal>() != 0) && settle.Elapsed < TimeSpan.FromSeconds(20));

            output.WriteLine($"charged in telemetry ${charged}; ledger {budget.ToJsonString()}");
            Assert.Equal(charged, Known(budget));
            Assert.True(budget["unreconciledUsd"]!.GetValue<decimal>() >= 0);
            Assert.True(budget["spentUsd"]!.GetValue<decimal>() <= budget["limitUsd"]!.GetValue<decimal>());
        }
        finally
        {
            await storage.StopAsync();
            work.Delete(recursive: true);
        }
    }

    /// <summary>The replica's telemetry lines once all <paramref name="count"/> requests have one (10 s at most).</summary>
    private static async Task<List<JsonNode>> TelemetryLinesAsync(string dataDirectory, int count)
    {
        var dir = Path.Combine(dataDirectory, "telemetry");
        List<JsonNode> lines = [];
        for (var i = 0; i < 40 && lines.Count < count; i++)
        {
            await Task.Delay(250);
            lines = [.. Directory.GetFiles(dir, "*.jsonl").SelectMany(f => File.ReadAllLines(f)).Select(l => JsonNode.Parse(l)!)];
        }

        Assert.Equal(count, lines.Count);
        return lines;
    }

    /// <summary>An Azurite process of the test's own, on fixed loopback ports, so that it can stop and start again on the same data.</summary>
    private sealed class Azurite(Process process)
    {
        private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

        public static string ConnectionString(int blob, int table) =>
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;"
            + $"QueueEndpoint=http://127.0.0.1:{blob + 1}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;";

        public static async Task<Azurite> StartAsync(string directory, int blob, int table)
        {
            var start = new ProcessStartInfo(Path.Combine(Repository.Root, "node_modules", ".bin", "azurite"))
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in new[]
            {
                "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--location", directory,
                "--blobHost", "127.0.0.1", "--blobPort", $"{blob}", "--queueHost", "127.0.0.1", "--queuePort", $"{blob + 1}",
                "--tableHost", "127.0.0.1", "--tablePort", $"{table}",
            })
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start)!;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (!Listening(blob) || !Listening(table))
            {
                Assert.False(process.HasExited, "Azurite exited during start-up");
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "Azurite did not start listening within 30 s");
                await Task.Delay(100);
            }

            return new Azurite(process);
        }

        /// <summary>SIGTERM, as a storage service going away; then its ports are closed.</summary>
        public async Task StopAsync()
        {
            if (process.HasExited)
            {
                return;
            }

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
        }

        private static bool Listening(int port)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }
}
