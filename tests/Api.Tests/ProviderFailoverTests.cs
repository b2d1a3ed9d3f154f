using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;
using Navigator.FakeUpstream;
using Navigator.Testing;

namespace Navigator.Api.Tests;

/// <summary>
/// Two API replicas using the real OpenAI and Anthropic SDK adapters against the fake upstream on
/// loopback, one silo, fast circuit settings (minimum 4 calls, 1 s open period, 2 probes).
/// </summary>
public class FakeUpstreamFixture : ClusterWithReplicas
{
    public const int HalfOpenProbes = 2;

    public FakeUpstreamFixture()
        : this("providers")
    {
    }

    protected FakeUpstreamFixture(string name)
        : base(name, 2)
    {
    }

    public FakeUpstreamApp Upstream { get; private set; } = null!;

    protected override async Task StartDependenciesAsync() => Upstream = await FakeUpstreamApp.StartAsync();

    protected override ValueTask StopDependenciesAsync() => Upstream.DisposeAsync();

    protected override IReadOnlyDictionary<string, string?> SiloSettings => new Dictionary<string, string?>
    {
        ["providers:circuitBreaker:windowSize"] = "10",
        ["providers:circuitBreaker:minimumCalls"] = "4",
        ["providers:circuitBreaker:openMs"] = "1000",
        ["providers:circuitBreaker:maxOpenMs"] = "4000",
        ["providers:circuitBreaker:halfOpenProbes"] = HalfOpenProbes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    protected override IReadOnlyDictionary<string, string> ApiSettings => new Dictionary<string, string>
    {
        ["OPENAI_API_KEY"] = "sk-fake",
        ["OPENAI_BASE_URL"] = $"{Upstream.BaseUrl}/v1",
        ["ANTHROPIC_API_KEY"] = "sk-ant-fake",
        ["ANTHROPIC_BASE_URL"] = Upstream.BaseUrl,
        ["providers:openai:attemptTimeoutMs"] = "1200",
        ["providers:anthropic:attemptTimeoutMs"] = "1200",
    }.Concat(MoreApiSettings).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>Settings a derived fixture adds to (or overrides in) the ones above.</summary>
    protected virtual IReadOnlyDictionary<string, string> MoreApiSettings => new Dictionary<string, string>();

    /// <summary>Sets a circuit's mode and waits until both replicas' own views show it.</summary>
    public async Task SetModeAsync(string provider, string mode)
    {
        var response = await Replicas[0].Client(ApiReplica.AdminKey).PostAsJsonAsync($"/admin/providers/{provider}/circuit", new { mode });
        response.EnsureSuccessStatusCode();
        // Both replicas learn the change by push (or their 1 s re-read): wait until each one's own view shows it.
        var expected = mode == "forceOpen" ? "open" : "closed";
        foreach (var replica in Replicas)
        {
            await WaitUntilAsync(async () =>
            {
                var all = JsonNode.Parse(await replica.Client(ApiReplica.AdminKey).GetStringAsync("/admin/providers"))!.AsArray();
                return all.Single(p => p!["provider"]!.GetValue<string>() == provider)!["replicaState"]?.GetValue<string>() == expected;
            }, TimeSpan.FromSeconds(3));
        }
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, "condition not met in time");
            await Task.Delay(50);
        }
    }
}

/// <summary>
/// The failover and deadline tests measure time: they run alone, after the parallel collections (the
/// 1,000-request burst among them) have finished.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class UpstreamCollection : ICollectionFixture<FakeUpstreamFixture>
{
    public const string Name = "upstream";
}

[Collection(UpstreamCollection.Name)]
public sealed class ProviderFailoverTests : RestoringTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);
    private readonly FakeUpstreamFixture _fixture;

    public ProviderFailoverTests(FakeUpstreamFixture fixture) => _fixture = fixture;

    private FaultBoard Faults => _fixture.Upstream.Faults;

    /// <summary>Every test starts healthy: no faults, both circuits reset to auto and closed.</summary>
    public override async Task InitializeAsync()
    {
        Faults.Reset();
        // Outcomes of the previous test still queued on a replica must not reach a freshly reset breaker.
        foreach (var replica in _fixture.Replicas)
        {
            replica.Services.GetRequiredService<ProviderOutcomeReporter>().FlushAll();
        }

        await Task.Delay(200);
        foreach (var provider in new[] { "openai", "anthropic" })
        {
            await _fixture.SetModeAsync(provider, "auto");
        }
    }

    [Theory]
    [InlineData("openai", "anthropic")]
    [InlineData("anthropic", "openai")]
    public async Task When_one_provider_fails_with_500s_the_other_answers_and_the_circuit_opens(string down, string healthy)
    {
        Faults.Set(down, new Faults { Status = 500 });

        for (var i = 0; i < 12; i++)
        {
            var (status, meta, elapsed) = await PostAsync(i % 2, down);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(healthy, meta["provider"]!.GetValue<string>());
            Assert.True(meta["failover"]!.GetValue<bool>());
            Assert.True(elapsed < Deadline, $"request {i} took {elapsed}");
            Assert.Contains(meta["attempts"]![0]!["outcome"]!.GetValue<string>(), new[] { "server_error", "circuit_open" });
        }

        // Replicas send outcomes in batches every 100 ms: the breaker learns of the last failures within that.
        await FakeUpstreamFixture.WaitUntilAsync(async () => (await CircuitAsync(down))["state"]!.GetValue<string>() == "open", TimeSpan.FromSeconds(1));
        var circuit = await CircuitAsync(down);
        Assert.Equal("open", circuit["state"]!.GetValue<string>());
        Assert.NotNull(circuit["nextProbeAt"]);
        // Once open, the failing provider is skipped without a call.
        var calls = Faults.Requests(down);
        var (_, skipped, _) = await PostAsync(0, down);
        Assert.Equal("circuit_open", skipped["attempts"]![0]!["outcome"]!.GetValue<string>());
        Assert.Equal(calls, Faults.Requests(down));
    }

    [Fact]
    public async Task After_recovery_a_bounded_number_of_probes_across_both_replicas_closes_the_circuit()
    {
        Faults.Set("openai", new Faults { Status = 500 });
        for (var i = 0; i < 6; i++)
        {
            await PostAsync(i % 2, "openai");
        }

        await FakeUpstreamFixture.WaitUntilAsync(async () => (await CircuitAsync("openai"))["state"]!.GetValue<string>() == "open", TimeSpan.FromSeconds(1));

        // Recovered, but slow enough that the whole burst (sent at once) arrives while the probes are in
        // flight, and fast enough to stay well inside the 1.2 s attempt timeout on a loaded machine (4×).
        Faults.Set("openai", new Faults { LatencyMs = 300 });
        await FakeUpstreamFixture.WaitUntilAsync(async () => (await CircuitAsync("openai"))["state"]!.GetValue<string>() == "halfOpen", TimeSpan.FromSeconds(5));
        var before = Faults.Requests("openai");
        var burst = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => PostAsync(i % 2, "openai")));

        Assert.All(burst, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        var probes = Faults.Requests("openai") - before;
        Assert.InRange(probes, 1, FakeUpstreamFixture.HalfOpenProbes);
        Assert.True(probes == burst.Count(r => r.Meta["provider"]!.GetValue<string>() == "openai"),
            string.Join("\n", burst.Select(r => r.Meta["attempts"]!.ToJsonString())));
        await FakeUpstreamFixture.WaitUntilAsync(async () => (await CircuitAsync("openai"))["state"]!.GetValue<string>() == "closed", TimeSpan.FromSeconds(1));

        // Closed again: once replica 1 has heard (by push), openai serves its own requests there.
        await FakeUpstreamFixture.WaitUntilAsync(async () =>
            JsonNode.Parse(await _fixture.Replicas[1].Client(ApiReplica.AdminKey).GetStringAsync("/admin/providers"))!.AsArray()
                .Single(p => p!["provider"]!.GetValue<string>() == "openai")!["replicaState"]?.GetValue<string>() == "closed", TimeSpan.FromSeconds(2));
        var (_, meta, _) = await PostAsync(1, "openai");
        Assert.True(meta["provider"]!.GetValue<string>() == "openai", meta["attempts"]!.ToJsonString());
        Assert.False(meta["failover"]!.GetValue<bool>());
    }

    [Fact]
    public async Task When_both_providers_are_down_the_answer_is_a_quick_503_with_retry_after()
    {
        Faults.Set("openai", new Faults { Status = 503 });
        Faults.Set("anthropic", new Faults { Status = 502 });
        for (var i = 0; i < 5; i++)
        {
            await PostAsync(i % 2, "openai");
        }

        var clock = Stopwatch.StartNew();
        var response = await _fixture.Replicas[0].Client().PostAsJsonAsync("/v1/career-paths", Body("openai"));
        var elapsed = clock.Elapsed;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("/problems/no-provider", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["type"]!.GetValue<string>());
        Assert.InRange(response.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        // No waiting: an attempt would take up to its 1.2 s timeout; open circuits are skipped at once.
        Assert.True(elapsed < TimeSpan.FromMilliseconds(1000), $"503 took {elapsed} with both circuits open");
    }

    [Fact]
    public async Task A_hanging_provider_is_cut_at_its_attempt_timeout_and_the_request_fails_over_in_time()
    {
        Faults.Set("openai", new Faults { Hang = true });

        var (status, meta, elapsed) = await PostAsync(0, "openai");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("anthropic", meta["provider"]!.GetValue<string>());
        var first = meta["attempts"]![0]!;
        Assert.Equal("timeout", first["outcome"]!.GetValue<string>());
        Assert.InRange(first["latencyMs"]!.GetValue<double>(), 1100, 2900);
        Assert.True(elapsed < Deadline, $"took {elapsed}");
    }

    [Fact]
    public async Task When_both_providers_are_slow_only_the_deadline_ends_the_request_with_a_504_at_3_s()
    {
        // Attempts may take 5 s here, so only the 3 s request deadline can stop the request.
        await using var replica = _fixture.NewReplica(new Dictionary<string, string>
        {
            ["providers:openai:attemptTimeoutMs"] = "5000",
            ["providers:anthropic:attemptTimeoutMs"] = "5000",
        });
        Faults.Set("openai", new Faults { LatencyMs = 10_000 });
        Faults.Set("anthropic", new Faults { LatencyMs = 10_000 });
        var admin = replica.Client(ApiReplica.AdminKey);
        var month = TestClock.Month;
        var before = await BudgetReports.QuietAsync(admin, month);

        var clock = Stopwatch.StartNew();
        var response = await replica.Client().PostAsJsonAsync("/v1/career-paths", Body("openai"));
        var elapsed = clock.Elapsed;

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("/problems/deadline-exceeded", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["type"]!.GetValue<string>());
        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        var line = (await TelemetryFiles.WaitForAsync(replica.DataDirectory, n => n["requestId"]!.GetValue<string>() == requestId))[0];
        Assert.Equal("deadline", line["outcome"]!.GetValue<string>());
        // The gateway ended it at 3 s by its own clock (0.3 s of headroom either side for a loaded 2-core machine);
        // the client saw it a little later, by as much as the machine's other tests delay the reply (1 s allowed).
        Assert.InRange(TimeSpan.FromMilliseconds(line["latencyMs"]!.GetValue<long>()), Deadline - TimeSpan.FromMilliseconds(300), Deadline + TimeSpan.FromMilliseconds(300));
        Assert.InRange(elapsed, Deadline - TimeSpan.FromMilliseconds(300), Deadline + TimeSpan.FromSeconds(1));
        // The one attempt was cut off by the deadline (the second never started) and charged its whole reservation
        // (the provider may bill what it went on generating).
        var attempt = Assert.Single(line["attempts"]!.AsArray())!;
        Assert.Equal(("openai", "timeout"), (attempt["provider"]!.GetValue<string>(), attempt["outcome"]!.GetValue<string>()));
        var cost = line["costUsd"]!.GetValue<decimal>();
        Assert.True(cost > 0);
        var after = await BudgetReports.WaitForSpentAsync(admin, month, before.SpentUsd + cost);
        Assert.Equal(before.SpentUsd + cost, after.SpentUsd);
        Assert.Equal(0m, after.InFlightUsd);
    }

    [Fact]
    public async Task A_slow_primary_is_hedged_the_loser_is_charged_its_reservation_and_its_circuit_counts_nothing()
    {
        // This fixture's replicas run without hedging; this one hedges after 300 ms (no recent p95 yet on a new replica).
        await using var replica = _fixture.NewReplica(new Dictionary<string, string>
        {
            ["providers:hedging:enabled"] = "true",
            ["providers:hedging:delayMs"] = "300",
            ["providers:hedging:minDelayMs"] = "300",
        });
        Faults.Set("openai", new Faults { LatencyMs = 5_000 });
        var admin = replica.Client(ApiReplica.AdminKey);
        var month = TestClock.Month;
        var before = await BudgetReports.QuietAsync(admin, month);
        var circuitBefore = await CircuitAsync("openai");

        var response = await replica.Client().PostAsJsonAsync("/v1/career-paths", Body("openai"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var meta = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["meta"]!;
        Assert.Equal("anthropic", meta["provider"]!.GetValue<string>());
        var attempts = meta["attempts"]!.AsArray();
        Assert.Equal([("openai", "superseded"), ("anthropic", "success")],
            attempts.Select(a => (a!["provider"]!.GetValue<string>(), a["outcome"]!.GetValue<string>())));
        // Cancelled when Anthropic answered, long before OpenAI's 1.2 s attempt timeout, and charged its reservation
        // (OpenAI may bill what it went on generating); the request's cost and the ledger include it.
        var loser = attempts[0]!;
        Assert.True(loser["latencyMs"]!.GetValue<double>() < 1100, $"the loser ran {loser["latencyMs"]} ms");
        Assert.True(loser["costUsd"]!.GetValue<decimal>() > 0);
        var cost = meta["costUsd"]!.GetValue<decimal>();
        Assert.Equal(attempts.Sum(a => a!["costUsd"]!.GetValue<decimal>()), cost);
        Assert.Equal(before.SpentUsd + cost, (await BudgetReports.WaitForSpentAsync(admin, month, before.SpentUsd + cost)).SpentUsd);
        // The gateway cancelled OpenAI's call; OpenAI did nothing wrong, so its circuit heard of no call at all
        // (outcomes reach the grain within 0.1 s).
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var circuitAfter = await CircuitAsync("openai");
        Assert.Equal(
            (circuitBefore["calls"]!.GetValue<long>(), circuitBefore["failures"]!.GetValue<long>()),
            (circuitAfter["calls"]!.GetValue<long>(), circuitAfter["failures"]!.GetValue<long>()));
    }

    [Fact]
    public async Task A_401_opens_the_circuit_at_once()
    {
        Faults.Set("openai", new Faults { Status = 401 });

        var (status, meta, _) = await PostAsync(0, "openai");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("auth_failure", meta["attempts"]![0]!["outcome"]!.GetValue<string>());
        await FakeUpstreamFixture.WaitUntilAsync(async () => (await CircuitAsync("openai"))["state"]!.GetValue<string>() == "open", TimeSpan.FromSeconds(2));
        Assert.Contains("credentials", (await CircuitAsync("openai"))["lastTripReason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Malformed_or_truncated_bodies_count_as_failures_and_fail_over(bool malformed, bool truncated)
    {
        Faults.Set("anthropic", new Faults { Malformed = malformed, Truncated = truncated });

        var (status, meta, _) = await PostAsync(1, "anthropic");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("openai", meta["provider"]!.GetValue<string>());
        Assert.Equal("malformed_response", meta["attempts"]![0]!["outcome"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_429_is_retried_after_its_retry_after_when_that_fits_the_deadline()
    {
        Faults.Set("openai", new Faults { Status = 429, RetryAfterSeconds = 1 });
        await _fixture.SetModeAsync("anthropic", "forceOpen");
        var retry = Task.Run(async () =>
        {
            await Task.Delay(500);
            Faults.Set("openai", new Faults());
        });

        var (status, meta, elapsed) = await PostAsync(0, "openai");
        await retry;

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("openai", meta["provider"]!.GetValue<string>());
        var outcomes = meta["attempts"]!.AsArray().Select(a => a!["outcome"]!.GetValue<string>()).ToList();
        Assert.Equal(["rate_limited", "circuit_open", "success"], outcomes);
        Assert.InRange(elapsed, TimeSpan.FromSeconds(1), Deadline);
    }

    [Fact]
    public async Task Operators_can_force_a_circuit_open_or_closed_and_every_replica_follows()
    {
        await _fixture.SetModeAsync("openai", "forceOpen");
        foreach (var replica in new[] { 0, 1 })
        {
            var (_, meta, _) = await PostAsync(replica, "openai");
            Assert.Equal("anthropic", meta["provider"]!.GetValue<string>());
        }

        Faults.Set("openai", new Faults { Status = 500 });
        await _fixture.SetModeAsync("openai", "forceClosed");
        for (var i = 0; i < 6; i++)
        {
            var (_, meta, _) = await PostAsync(i % 2, "openai");
            Assert.Equal("server_error", meta["attempts"]![0]!["outcome"]!.GetValue<string>());
        }

        var circuit = await CircuitAsync("openai");
        Assert.Equal(("closed", "forceClosed"), (circuit["state"]!.GetValue<string>(), circuit["mode"]!.GetValue<string>()));

        var admin = _fixture.Replicas[0].Client(ApiReplica.AdminKey);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("/admin/providers/openai/circuit", new { mode = "sideways" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsJsonAsync("/admin/providers/gemini/circuit", new { mode = "auto" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _fixture.Replicas[0].Client().PostAsJsonAsync("/admin/providers/openai/circuit", new { mode = "auto" })).StatusCode);
    }

    [Fact]
    public async Task A_probe_the_budget_refuses_returns_its_permit_at_once()
    {
        // OpenAI's circuit opens (for 1 s in this fixture).
        Faults.Set("openai", new Faults { Status = 500 });
        for (var i = 0; i < 4; i++)
        {
            await PostAsync(i % 2, "openai");
        }

        await FakeUpstreamFixture.WaitUntilAsync(async () => (await CircuitAsync("openai"))["state"]!.GetValue<string>() == "open", TimeSpan.FromSeconds(2));
        Faults.Set("openai", new Faults());

        // A replica in a month with nothing left: once the open period is over, its OpenAI attempt is a
        // probe, and the budget refuses it before any call.
        await using var broke = _fixture.InOwnMonth();
        (await broke.Admin.PutAsJsonAsync($"/admin/budget/{broke.Month}/limit", new { limitUsd = 0.000001m })).EnsureSuccessStatusCode();
        await FakeUpstreamFixture.WaitUntilAsync(async () =>
            JsonNode.Parse(await broke.Admin.GetStringAsync("/admin/providers"))!.AsArray()
                .Single(p => p!["provider"]!.GetValue<string>() == "openai")!["replicaState"]?.GetValue<string>() != "closed", TimeSpan.FromSeconds(3));
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var refused = await broke.Client().PostAsJsonAsync("/v1/career-paths", Body("openai"));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);

        // The permit went back: none is held (it would be for the 10 s probe timeout), and a probe can go now.
        await FakeUpstreamFixture.WaitUntilAsync(async () => (await CircuitAsync("openai"))["probesInFlight"]!.GetValue<int>() == 0, TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(0, "openai")).Status);
    }

    [Fact]
    public async Task Bills_forty_percent_above_the_estimate_under_1000_concurrent_requests_never_take_spend_past_the_limit()
    {
        // Both providers report 40% more input tokens than the gateway's o200k count (another tokenizer, or chat overhead).
        Faults.Set("openai", new Faults { UsageFactor = 1.4 });
        Faults.Set("anthropic", new Faults { UsageFactor = 1.4 });
        await using var own = _fixture.InOwnMonth(2);
        // A worst-case reservation is about $0.009, a served request about $0.004: with 1,000 at once, the reservations
        // in flight fill this limit long before the charges do, and the rest are refused.
        const decimal limit = 1.80m;
        (await own.Admin.PutAsJsonAsync($"/admin/budget/{own.Month}/limit", new { limitUsd = limit, dailyPacingFactor = 0 })).EnsureSuccessStatusCode();

        var answers = await Task.WhenAll(Enumerable.Range(0, 1000).Select(async i =>
        {
            using var response = await own.Client(i % 2).PostAsJsonAsync("/v1/career-paths", new
            {
                userId = $"over-{i}",
                userProfile = "Software Engineer, 5 years, Python/Java, interested in AI/ML",
                jobMarketData = "AI Engineer: $120k-180k, ML Engineer: $130k-200k",
                provider = i % 3 == 0 ? "anthropic" : "openai",
            });
            return (response.StatusCode, Cost: response.IsSuccessStatusCode ? await BudgetReports.CostOfAsync(response) : 0m);
        }));

        var served = answers.Count(a => a.StatusCode == HttpStatusCode.OK);
        var charged = answers.Sum(a => a.Cost);
        var after = await BudgetReports.WaitForSpentAsync(own.Admin, own.Month, charged);
        Assert.True(served > 50, $"only {served} served");
        Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"{a.StatusCode}"));
        Assert.Equal(charged, after.SpentUsd);
        Assert.True(after.SpentUsd <= limit, $"spent {after.SpentUsd} of {limit}");
    }

    [Fact]
    public async Task A_provider_billing_more_than_was_reserved_is_charged_its_bill_counted_and_the_margin_rises()
    {
        // The provider bills three times the o200k input count and the whole max_tokens: past any
        // reservation made with the configured margin (1.05 for OpenAI).
        Faults.Set("openai", new Faults { UsageFactor = 3, OutputTokens = 800 });
        var replica = _fixture.Replicas[0];
        var admin = replica.Client(ApiReplica.AdminKey);
        var month = TestClock.Month;
        var margins = replica.Services.GetRequiredService<ReservationMargins>();
        var configured = margins.MarginOf("openai");
        using var underreserved = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(
            replica.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), Telemetry.GatewayMetrics.MeterName, "navigator.budget.underreserved");
        var before = await BudgetReports.QuietAsync(admin, month);

        var (status, meta, _) = await PostAsync(0, "openai");

        Assert.Equal(HttpStatusCode.OK, status);
        // The charge is the bill: gpt-4o at $2.50 and $10 per million tokens.
        var input = meta["inputTokens"]!.GetValue<int>();
        Assert.Equal(800, meta["outputTokens"]!.GetValue<int>());
        var cost = meta["costUsd"]!.GetValue<decimal>();
        Assert.Equal((input * 2.5m + 800 * 10m) / 1_000_000m, cost);
        var after = await BudgetReports.WaitForSpentAsync(admin, month, before.SpentUsd + cost);
        Assert.Equal(before.SpentUsd + cost, after.SpentUsd);
        Assert.Equal(0m, after.InFlightUsd);
        Assert.Equal(1, underreserved.GetMeasurementSnapshot().Where(m => Equals(m.Tags["provider"], "openai")).Sum(m => m.Value));

        // The margin learned the ratio: the next attempt reserves enough, and is not counted again.
        Assert.InRange(margins.MarginOf("openai"), 3.0, 3.3);
        Assert.True(margins.MarginOf("openai") > configured);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(0, "openai")).Status);
        Assert.Equal(1, underreserved.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    [Fact]
    public async Task A_client_that_hangs_up_is_still_charged_the_real_cost_and_nothing_stays_reserved()
    {
        Faults.Set("anthropic", new Faults { LatencyMs = 700 });
        var replica = _fixture.Replicas[1];
        var admin = replica.Client(ApiReplica.AdminKey);
        var month = TestClock.Month;
        var before = await BudgetReports.QuietAsync(admin, month);
        var user = $"hangup-{Guid.NewGuid():N}";
        using var impatient = replica.Client();
        impatient.Timeout = TimeSpan.FromMilliseconds(200);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient.PostAsJsonAsync("/v1/career-paths", new
        {
            userId = user,
            userProfile = "Nurse moving into health informatics",
            jobMarketData = "Clinical Informatics Analyst: $90k-120k",
            provider = "anthropic",
        }));

        var hash = UserPseudonyms.Of(System.Text.Encoding.UTF8.GetBytes(TelemetryLogOptions.DevelopmentUserIdKey), user);
        var line = (await TelemetryFiles.WaitForAsync(replica.DataDirectory, n => n["userIdHash"]?.GetValue<string>() == hash))[0];
        Assert.Equal("client_closed", line["outcome"]!.GetValue<string>());
        Assert.Equal(499, line["status"]!.GetValue<int>());
        Assert.True(line["outputTokens"]!.GetValue<int>() > 0);
        var cost = line["costUsd"]!.GetValue<decimal>();
        Assert.True(cost > 0);
        var after = await BudgetReports.WaitForSpentAsync(admin, month, before.SpentUsd + cost);
        Assert.Equal(before.SpentUsd + cost, after.SpentUsd);
        Assert.Equal(0m, after.InFlightUsd);
    }

    [Fact]
    public async Task A_request_in_flight_finishes_on_the_version_it_started_with()
    {
        const string feature = "career_path_navigator";
        Faults.Set("openai", new Faults { LatencyMs = 800 });
        var admin = _fixture.Replicas[0].Client(ApiReplica.AdminKey);
        var inFlight = PostAsync(0, "openai");
        await Task.Delay(300);
        (await admin.PostAsJsonAsync($"/admin/features/{feature}/rollback", new { toVersion = "1.2.2", reason = "in-flight test" })).EnsureSuccessStatusCode();
        Restore(async () => (await admin.PostAsJsonAsync($"/admin/features/{feature}/rollback", new { reason = "restore after in-flight test" })).EnsureSuccessStatusCode());

        var (status, meta, _) = await inFlight;
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("1.2.3", "v2.1"), (meta["featureVersion"]!.GetValue<string>(), meta["systemPromptVersion"]!.GetValue<string>()));

        Faults.Set("openai", new Faults());
        var (_, next, _) = await PostAsync(0, "openai");
        Assert.Equal(("1.2.2", "v2.0"), (next["featureVersion"]!.GetValue<string>(), next["systemPromptVersion"]!.GetValue<string>()));
    }

    private static object Body(string provider) => new
    {
        userId = $"failover-{Guid.NewGuid():N}",
        userProfile = "Software Engineer, 5 years, Python/Java, interested in AI/ML",
        jobMarketData = "AI Engineer: $120k-180k, ML Engineer: $130k-200k",
        provider,
    };

    private async Task<(HttpStatusCode Status, JsonNode Meta, TimeSpan Elapsed)> PostAsync(int replica, string provider)
    {
        var clock = Stopwatch.StartNew();
        var response = await _fixture.Replicas[replica].Client().PostAsJsonAsync("/v1/career-paths", Body(provider));
        var elapsed = clock.Elapsed;
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return (response.StatusCode, body["meta"] ?? body, elapsed);
    }

    private async Task<JsonNode> CircuitAsync(string provider)
    {
        var all = JsonNode.Parse(await _fixture.Replicas[0].Client(ApiReplica.AdminKey).GetStringAsync("/admin/providers"))!.AsArray();
        return all.Single(p => p!["provider"]!.GetValue<string>() == provider)!;
    }

}
