using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Navigator.Demo;

/// <summary>How a scene ended: whether it reached its expected outcome, in words, and the figures a test checks.</summary>
public sealed record SceneResult(int Number, string Name, bool Ok, string Detail, IReadOnlyDictionary<string, object?> Facts);

/// <summary>
/// The seven scenes, in order. Each narrates itself in a table that grows as requests are answered (a live view
/// on a terminal, printed once per scene with <c>--plain</c>), and ends with a verdict line.
/// </summary>
public sealed class Story(IAnsiConsole console, Gateway gateway, DemoOptions options)
{
    private const string Feature = "career_path_navigator";
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly bool _live = console.Profile.Capabilities.Interactive;

    public async Task<IReadOnlyList<SceneResult>> RunAsync()
    {
        console.Write(new FigletText("Career Path Navigator").Color(Color.Teal));
        console.MarkupLine($"Gateway replicas [bold]{string.Join(", ", options.Replicas)}[/]; providers are the real OpenAI and Anthropic SDKs against a fake upstream at [bold]{options.Upstream}[/].");
        return
        [
            await SceneAsync(1, "Normal calls", "Five users ask for career paths; the experiment picks each one's provider.", ["#", "replica", "user", "provider / model", "versions", "tokens in/out", "cost $", "ms"], NormalCallsAsync),
            await SceneAsync(2, "A/B experiment", "Forty users are split by a hash of their id; asking again lands each in the same variant.", ["variant", "users", "share", "provider", "versions"], ExperimentAsync),
            await SceneAsync(3, "Response cache", "The same question three times, on both replicas: the first pays a provider, the next come from the cache.", ["ask", "replica", "cached", "cost $", "ms"], CacheAsync),
            await SceneAsync(4, "OpenAI outage", "OpenAI starts failing every call. Requests fail over to Anthropic, the circuit opens, then OpenAI comes back and half-open probes close it.", ["#", "phase", "replica", "attempts", "served by", "openai circuit", "ms"], OutageAsync),
            await SceneAsync(5, "Budget near its cap", "The month's limit is lowered to just above what is spent: past 80% requests are downgraded to the cheaper model, then refused with 429 and Retry-After.", ["#", "replica", "status", "model", "downgraded", "cost $", "note"], BudgetAsync),
            await SceneAsync(6, "Bad release rolled back", "A release that cuts the answer to one recommendation goes live; one admin call rolls it back, timed until every replica serves the previous version.", ["step", "replica", "version", "recommendations", "ms after the call"], RollbackAsync),
            await SceneAsync(7, "Statistics", "GET /admin/stats: every request of this demo, summed over both replicas.", ["", "requests", "success", "p50 ms", "p95 ms", "tokens in/out", "cost $", "cache hits", "failovers", "circuit trips"], StatisticsAsync),
        ];
    }

    private async Task<SceneResult> SceneAsync(int number, string name, string story, string[] columns, Func<Action<object?[]>, Task<(bool Ok, string Detail, Dictionary<string, object?> Facts)>> body)
    {
        console.WriteLine();
        console.Write(new Rule($"[bold yellow]{number}. {Markup.Escape(name)}[/]").LeftJustified());
        console.MarkupLine($"[grey]{Markup.Escape(story)}[/]");
        var table = new Table().Border(TableBorder.Rounded).AddColumns(columns);
        (bool Ok, string Detail, Dictionary<string, object?> Facts) outcome;
        try
        {
            if (_live)
            {
                outcome = await console.Live(table).StartAsync(ctx => body(cells =>
                {
                    AddRow(table, cells);
                    ctx.Refresh();
                }));
            }
            else
            {
                outcome = await body(cells => AddRow(table, cells));
                console.Write(table);
            }
        }
        catch (Exception ex)
        {
            if (!_live)
            {
                console.Write(table);
            }

            outcome = (false, $"failed: {ex.Message}", []);
        }

        console.MarkupLine(outcome.Ok ? $"[green]OK[/] {Markup.Escape(outcome.Detail)}" : $"[red]NOT OK[/] {Markup.Escape(outcome.Detail)}");
        return new SceneResult(number, name, outcome.Ok, outcome.Detail, outcome.Facts);
    }

    private static void AddRow(Table table, object?[] cells) =>
        table.AddRow([.. cells.Select(c => (IRenderable)new Text(Format(c)))]);

    private static string Format(object? value) => value switch
    {
        null => "",
        decimal d => d.ToString("0.######", CultureInfo.InvariantCulture),
        double d => d.ToString("0.#", CultureInfo.InvariantCulture),
        TimeSpan t => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture),
        bool b => b ? "yes" : "no",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private async Task<(bool, string, Dictionary<string, object?>)> NormalCallsAsync(Action<object?[]> row)
    {
        var answers = new List<Answer>();
        for (var i = 0; i < 5; i++)
        {
            var a = await gateway.RecommendAsync(i % 2, $"demo-user-{i}", profile: i);
            answers.Add(a);
            row([i + 1, a.Replica, $"demo-user-{i}", a.Ok ? $"{a.Provider} / {a.Model}" : $"{a.Status} {a.ProblemType}", a.Versions, $"{a.InputTokens}/{a.OutputTokens}", a.CostUsd, a.Elapsed]);
        }

        var ok = answers.All(a => a.Ok && a.Recommendations > 0);
        return (ok, $"{answers.Count(a => a.Ok)} of 5 answered, ${answers.Sum(a => a.CostUsd):0.######} in all", new()
        {
            ["answered"] = answers.Count(a => a.Ok),
        });
    }

    private async Task<(bool, string, Dictionary<string, object?>)> ExperimentAsync(Action<object?[]> row)
    {
        const int users = 40;
        var answers = await Task.WhenAll(Enumerable.Range(0, users).Select(i => gateway.RecommendAsync(i % 2, $"demo-ab-{i}", profile: i)));
        foreach (var group in answers.Where(a => a.Ok).GroupBy(a => a.Variant).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            row([group.Key, group.Count(), $"{100.0 * group.Count() / users:0}%", string.Join(", ", group.Select(a => a.Provider).Distinct()), string.Join(", ", group.Select(a => a.Versions).Distinct())]);
        }

        // Sticky: the same users again, each on the other replica.
        var again = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => gateway.RecommendAsync((i + 1) % 2, $"demo-ab-{i}", profile: i)));
        var sticky = again.Select((a, i) => a.Ok && a.Variant == answers[i].Variant).All(same => same);
        var variants = answers.Where(a => a.Ok).Select(a => a.Variant).Distinct().Count();
        var ok = answers.All(a => a.Ok) && variants >= 2 && sticky;
        return (ok, $"{variants} variants; 10 users asked again on the other replica: {(sticky ? "every one in the same variant" : "SOME MOVED")}", new()
        {
            ["variants"] = variants,
            ["sticky"] = sticky,
        });
    }

    private async Task<(bool, string, Dictionary<string, object?>)> CacheAsync(Action<object?[]> row)
    {
        var answers = new List<Answer>();
        foreach (var (ask, replica) in new[] { (1, 0), (2, 1), (3, 0) })
        {
            var a = await gateway.RecommendAsync(replica, "demo-cache", noStore: false, profile: 2);
            answers.Add(a);
            row([ask, replica, a.Ok ? a.Cached : $"{a.Status} {a.ProblemType}", a.CostUsd, a.Elapsed]);
        }

        var hits = answers.Skip(1).Count(a => a.Ok && a.Cached && a.CostUsd == 0);
        var ok = answers[0].Ok && !answers[0].Cached && hits == 2;
        return (ok, $"first answer paid ${answers[0].CostUsd:0.######}; {hits} of 2 repeats came from the cache at $0", new() { ["cacheHits"] = hits });
    }

    private async Task<(bool, string, Dictionary<string, object?>)> OutageAsync(Action<object?[]> row)
    {
        int failovers = 0, errors = 0, skipped = 0, n = 0;
        var opened = false;
        try
        {
            await gateway.SetFaultAsync("openai", new { status = 500 });
            row(["", "OpenAI now answers 500 to every call", "", "", "", "", ""]);
            for (var i = 0; i < 40 && skipped < 3; i++)
            {
                var a = await gateway.RecommendAsync(i % 2, $"demo-outage-{i}", "openai", profile: i);
                var circuit = await gateway.CircuitAsync("openai");
                opened |= circuit == "open";
                errors += a.Ok ? 0 : 1;
                failovers += a.Failover ? 1 : 0;
                skipped += a.Attempts.Contains("openai circuit_open", StringComparison.Ordinal) ? 1 : 0;
                row([++n, "outage", a.Replica, a.Attempts, a.Ok ? a.Provider : $"{a.Status} {a.ProblemType}", circuit, a.Elapsed]);
            }
        }
        finally
        {
            await gateway.ClearFaultsAsync();
        }

        row(["", "OpenAI answers again; waiting for the open period to end and probes to close the circuit", "", "", "", "", ""]);
        var recovery = Stopwatch.StartNew();
        string circuitNow = "open", last = "";
        var sawHalfOpen = false;
        var probedOpenAi = false;
        for (var i = 0; i < 200 && circuitNow != "closed"; i++)
        {
            await Task.Delay(200);
            var a = await gateway.RecommendAsync(i % 2, $"demo-recovery-{i}", "openai", profile: i);
            circuitNow = await gateway.CircuitAsync("openai");
            sawHalfOpen |= circuitNow == "halfOpen";
            probedOpenAi |= a.Ok && a.Provider == "openai";
            errors += a.Ok ? 0 : 1;
            failovers += a.Failover ? 1 : 0;
            var shape = $"{a.Attempts}|{circuitNow}";
            if (shape != last || circuitNow == "closed")
            {
                row([++n, "recovery", a.Replica, a.Attempts, a.Ok ? a.Provider : $"{a.Status} {a.ProblemType}", circuitNow, a.Elapsed]);
                last = shape;
            }
        }

        var ok = opened && failovers > 0 && errors == 0 && circuitNow == "closed" && probedOpenAi;
        return (ok,
            $"{failovers} requests failed over to Anthropic, none failed; the circuit opened, then closed {recovery.Elapsed.TotalSeconds:0.0} s after OpenAI came back",
            new()
            {
                ["failovers"] = failovers,
                ["errors"] = errors,
                ["opened"] = opened,
                ["skippedOpenCircuit"] = skipped,
                ["halfOpenSeen"] = sawHalfOpen,
                ["recovered"] = circuitNow == "closed",
            });
    }

    private async Task<(bool, string, Dictionary<string, object?>)> BudgetAsync(Action<object?[]> row)
    {
        var month = DateTimeOffset.UtcNow.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var before = await gateway.AdminGetAsync($"/admin/budget/{month}");
        var originalLimit = before["limitUsd"]!.GetValue<decimal>();
        var spent = before["spentUsd"]!.GetValue<decimal>();
        // 97% used: past the 80% soft limit, with some tens of downgraded answers left.
        var limit = Math.Round(Math.Max(spent / 0.97m, spent + 0.004m), 6);
        await gateway.AdminSendAsync(HttpMethod.Put, $"/admin/budget/{month}/limit", new { limitUsd = limit, dailyPacingFactor = 0 });
        row(["", "", "", "", "", "", $"limit set to ${limit} with ${spent} spent ({(limit == 0 ? 0 : 100 * spent / limit):0}%)"]);
        // The replicas' leases were sized for the old limit: their next renewals (every 250 ms) shrink them to the new one.
        await Task.Delay(TimeSpan.FromSeconds(1));

        int served = 0, downgraded = 0;
        Answer? refusal = null;
        try
        {
            for (var i = 0; i < 400 && refusal is null; i++)
            {
                var a = await gateway.RecommendAsync(i % 2, $"demo-budget-{i}", "openai", profile: i);
                if (!a.Ok)
                {
                    refusal = a;
                    row([i + 1, a.Replica, a.Status, "", "", "", $"{a.ProblemType}, Retry-After {a.RetryAfter?.TotalSeconds:0} s: {a.ProblemDetail}"]);
                    break;
                }

                served++;
                downgraded += a.Downgraded ? 1 : 0;
                if (i < 2 || (a.Downgraded && downgraded == 1) || i % 10 == 0)
                {
                    row([i + 1, a.Replica, a.Status, a.Model, a.Downgraded, a.CostUsd, ""]);
                }
            }
        }
        finally
        {
            var after = await gateway.AdminGetAsync($"/admin/budget/{month}");
            spent = after["spentUsd"]!.GetValue<decimal>();
            await gateway.AdminSendAsync(HttpMethod.Put, $"/admin/budget/{month}/limit", new { limitUsd = originalLimit, dailyPacingFactor = DailyPacingFactor() });
        }

        row(["", "", "", "", "", "", $"spent ${spent} of ${limit}; limit restored to ${originalLimit}"]);
        var ok = downgraded > 0 && refusal is { Status: 429, RetryAfter: not null } && refusal.ProblemType == "/problems/budget-exhausted" && spent <= limit;
        return (ok, $"{served} served ({downgraded} downgraded), then 429 {refusal?.ProblemType} with Retry-After {refusal?.RetryAfter?.TotalSeconds:0} s; spent ${spent} <= ${limit}", new()
        {
            ["served"] = served,
            ["downgraded"] = downgraded,
            ["refusalStatus"] = refusal?.Status,
            ["refusalType"] = refusal?.ProblemType,
            ["retryAfterSeconds"] = refusal?.RetryAfter?.TotalSeconds,
            ["spentUsd"] = spent,
            ["limitUsd"] = limit,
        });
    }

    /// <summary>The configured pacing factor (config/rate_limits.json beside the feature file), to restore after the budget scene.</summary>
    private decimal DailyPacingFactor()
    {
        var file = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(options.FeatureFile)))!, "rate_limits.json");
        return JsonNode.Parse(File.ReadAllText(file))!["budget"]!["dailyPacingFactor"]!.GetValue<decimal>();
    }

    private async Task<(bool, string, Dictionary<string, object?>)> RollbackAsync(Action<object?[]> row)
    {
        var document = JsonNode.Parse(await File.ReadAllTextAsync(options.FeatureFile))!.AsObject();
        var good = document["version"]!.GetValue<string>();
        var parts = good.Split('.');
        var bad = $"{parts[0]}.{parts[1]}.{int.Parse(parts[2], CultureInfo.InvariantCulture) + 1}";
        document["version"] = bad;
        document["description"] = "A bad release: asks for one recommendation instead of three.";
        document["changelog"] = "Demo: recommendation count cut to 1 by mistake.";
        document["parameters"]!["recommendationCount"] = 1;
        await gateway.AdminPublishAsync($"/admin/features/{Feature}/versions?activate=true&reason={Uri.EscapeDataString("demo: a bad release")}", document.ToJsonString());
        var published = await WaitForVersionAsync(bad, "demo-bad");
        foreach (var (replica, a, elapsed) in published)
        {
            row(["bad release published", replica, a.FeatureVersion, a.Recommendations, elapsed]);
        }

        await gateway.AdminSendAsync(HttpMethod.Post, $"/admin/features/{Feature}/rollback", new { reason = "demo: the release cut recommendations to one" });
        var rolledBack = await WaitForVersionAsync(good, "demo-rollback");
        foreach (var (replica, a, elapsed) in rolledBack)
        {
            row(["rolled back", replica, a.FeatureVersion, a.Recommendations, elapsed]);
        }

        var slowest = rolledBack.Max(r => r.Elapsed);
        var ok = published.All(p => p.Answer.FeatureVersion == bad) && rolledBack.All(r => r.Answer.FeatureVersion == good) && slowest < TimeSpan.FromSeconds(10);
        return (ok, $"rollback {bad} -> {good} reached both replicas within {slowest.TotalMilliseconds:0} ms of the admin call", new()
        {
            ["rollbackMs"] = rolledBack.Select(r => Math.Round(r.Elapsed.TotalMilliseconds)).ToArray(),
            ["replicas"] = rolledBack.Count,
        });
    }

    /// <summary>Asks every replica every 25 ms until it serves <paramref name="version"/> (10 s at most); the time each took.</summary>
    private async Task<List<(int Replica, Answer Answer, TimeSpan Elapsed)>> WaitForVersionAsync(string version, string user)
    {
        var clock = Stopwatch.StartNew();
        return [.. await Task.WhenAll(Enumerable.Range(0, gateway.ReplicaCount).Select(async replica =>
        {
            var i = 0;
            while (true)
            {
                var a = await gateway.RecommendAsync(replica, $"{user}-{replica}-{i++}", "openai", profile: i);
                if ((a.Ok && a.FeatureVersion == version) || clock.Elapsed > TimeSpan.FromSeconds(10))
                {
                    return (replica, a, clock.Elapsed);
                }

                await Task.Delay(25);
            }
        }))];
    }

    private async Task<(bool, string, Dictionary<string, object?>)> StatisticsAsync(Action<object?[]> row)
    {
        var since = Uri.EscapeDataString(_started.AddMinutes(-1).ToString("O", CultureInfo.InvariantCulture));
        JsonNode stats;
        var waited = Stopwatch.StartNew();
        do
        {
            // The other replica sends its figures once a second.
            stats = await gateway.AdminGetAsync($"/admin/stats?since={since}");
        }
        while (stats["totals"]!["requests"]!.GetValue<long>() < gateway.Sent && waited.Elapsed < TimeSpan.FromSeconds(10) && await Delay());

        var totals = stats["totals"]!;
        Row("all", totals);
        foreach (var (provider, figures) in stats["providers"]!.AsObject())
        {
            Row(provider, figures!);
        }

        var lines = options.TelemetryDirectories.Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.jsonl", SearchOption.AllDirectories))
            .Sum(f => File.ReadLines(f).LongCount());

        var requests = totals["requests"]!.GetValue<long>();
        var replicas = stats["replicas"]!.GetValue<int>();
        var ok = requests == gateway.Sent && replicas == gateway.ReplicaCount
            && totals["failovers"]!.GetValue<long>() > 0 && totals["circuitTrips"]!.GetValue<int>() > 0 && totals["cacheHits"]!.GetValue<long>() > 0;
        return (ok, $"{requests} requests counted over {replicas} replicas, of the {gateway.Sent} the demo sent. JSONL telemetry: {lines} lines in {string.Join(" and ", options.TelemetryDirectories)}", new()
        {
            ["requests"] = requests,
            ["sent"] = gateway.Sent,
            ["replicas"] = replicas,
            ["failovers"] = totals["failovers"]!.GetValue<long>(),
            ["circuitTrips"] = totals["circuitTrips"]!.GetValue<int>(),
            ["cacheHits"] = totals["cacheHits"]!.GetValue<long>(),
            ["telemetryLines"] = lines,
        });

        void Row(string name, JsonNode f) => row(
        [
            name,
            f["requests"]!.GetValue<long>(),
            f["successRate"] is { } rate ? $"{rate.GetValue<double>() * 100:0.#}%" : "-",
            f["latencyMs"]!["p50"]?.GetValue<double>(),
            f["latencyMs"]!["p95"]?.GetValue<double>(),
            $"{f["inputTokens"]}/{f["outputTokens"]}",
            f["costUsd"]!.GetValue<decimal>(),
            f["cacheHitRatio"] is { } ratio ? $"{f["cacheHits"]} ({ratio.GetValue<double>() * 100:0.#}%)" : $"{f["cacheHits"]}",
            f["failovers"]!.GetValue<long>(),
            f["circuitTrips"]!.GetValue<int>(),
        ]);

        static async Task<bool> Delay()
        {
            await Task.Delay(200);
            return true;
        }
    }
}
