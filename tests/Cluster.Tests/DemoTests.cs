using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Navigator.Cluster.Tests;

/// <summary>
/// <c>./demo.sh --plain</c> end to end: its own Azurite, silo, two API replicas and fake upstream, seven scenes,
/// and every scene's outcome checked from the summary it writes (not from its own verdict alone).
/// </summary>
public sealed class DemoTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_scene_of_the_demo_reaches_its_expected_outcome()
    {
        var work = Directory.CreateTempSubdirectory("navigator-demo-test-");
        try
        {
            var summaryFile = Path.Combine(work.FullName, "summary.json");
            var start = new ProcessStartInfo("bash") { WorkingDirectory = Repository.Root, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { "demo.sh", "--plain", "--no-build", "--summary", summaryFile })
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment["NAVIGATOR_DEMO_DIR"] = Path.Combine(work.FullName, "data");
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
            output.WriteLine($"demo.sh took {clock.Elapsed.TotalSeconds:0.0} s\n{await stdout}\n{await stderr}");
            Assert.True(process.ExitCode == 0, $"demo.sh exited with {process.ExitCode}");

            var scenes = JsonNode.Parse(await File.ReadAllTextAsync(summaryFile))!["scenes"]!.AsArray();
            Assert.Equal(7, scenes.Count);
            Assert.All(scenes, s => Assert.True(s!["ok"]!.GetValue<bool>(), $"scene {s["number"]} {s["name"]}: {s["detail"]}"));
            JsonNode Facts(int number) => scenes[number - 1]!["facts"]!;

            Assert.Equal(5, Facts(1)["answered"]!.GetValue<int>());
            Assert.True(Facts(2)["variants"]!.GetValue<int>() >= 2);
            Assert.True(Facts(2)["sticky"]!.GetValue<bool>());
            Assert.Equal(2, Facts(3)["cacheHits"]!.GetValue<int>());

            var outage = Facts(4);
            Assert.True(outage["opened"]!.GetValue<bool>());
            Assert.True(outage["failovers"]!.GetValue<int>() > 0);
            Assert.Equal(0, outage["errors"]!.GetValue<int>());
            Assert.True(outage["skippedOpenCircuit"]!.GetValue<int>() > 0);
            Assert.True(outage["recovered"]!.GetValue<bool>());

            var budget = Facts(5);
            Assert.True(budget["downgraded"]!.GetValue<int>() > 0);
            Assert.Equal(429, budget["refusalStatus"]!.GetValue<int>());
            Assert.Equal("/problems/budget-exhausted", budget["refusalType"]!.GetValue<string>());
            Assert.True(budget["retryAfterSeconds"]!.GetValue<double>() > 0);
            Assert.True(budget["spentUsd"]!.GetValue<decimal>() <= budget["limitUsd"]!.GetValue<decimal>());

            Assert.Equal(2, Facts(6)["replicas"]!.GetValue<int>());

            var stats = Facts(7);
            Assert.Equal(stats["sent"]!.GetValue<int>(), stats["requests"]!.GetValue<long>());
            Assert.Equal(2, stats["replicas"]!.GetValue<int>());
            Assert.Equal(stats["sent"]!.GetValue<int>(), stats["telemetryLines"]!.GetValue<long>());
            Assert.Contains("All 7 scenes reached their expected outcome", await stdout);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}

internal static class Repository
{
    /// <summary>The folder that holds Navigator.sln, above the test's own.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Navigator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Navigator.sln was not found above the test's folder.");
    }
}
