using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Navigator.Api.Apis;
using Navigator.Api.Telemetry;
using Navigator.Testing;

namespace Navigator.Api.Tests;

/// <summary>Budget policies and quotas through the API.</summary>
[Collection(ApiCollection.Name)]
public sealed class CostControlApiTests(ApiFixture fixture)
{
    private static string Month => TestClock.Month;

    private static object Body(string userId, string? provider = null) => new
    {
        userId,
        userProfile = "Data analyst, 4 years of SQL and Python",
        jobMarketData = "Data Engineer: $120k-170k, Analytics Engineer: $115k-160k",
        provider,
    };

    [Fact]
    public async Task Past_the_soft_limit_requests_are_downgraded_to_the_cheaper_model()
    {
        await using var own = fixture.InOwnMonth();
        // Spend at least $0.008, then set the limit so that the spend is 90% of it: past the 80% soft
        // limit, and a tenth left ($0.0009 or more) pays for a gpt-4o-mini worst case (about $0.0006).
        decimal spent = 0;
        for (var i = 0; i < 20 && spent < 0.008m; i++)
        {
            spent += await BudgetReports.CostOfAsync(await own.Client().PostAsJsonAsync("/v1/career-paths", Body($"soft-{Guid.NewGuid():N}", "openai")));
        }

        Assert.Equal(spent, (await BudgetReports.WaitForSpentAsync(own.Admin, own.Month, spent)).SpentUsd);
        // Pacing is off so that only the soft limit applies.
        (await own.Admin.PutAsJsonAsync($"/admin/budget/{own.Month}/limit", new { limitUsd = Math.Round(spent / 0.9m, 6), dailyPacingFactor = 0 })).EnsureSuccessStatusCode();

        var response = await own.Client().PostAsJsonAsync("/v1/career-paths", Body($"soft-{Guid.NewGuid():N}", "openai"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var meta = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["meta"]!;
        Assert.Equal("gpt-4o-mini", meta["model"]!.GetValue<string>());
        Assert.Equal("gpt-4o-mini", meta["attempts"]![0]!["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task Under_the_soft_limit_the_feature_model_is_used()
    {
        var response = await fixture.Client().PostAsJsonAsync("/v1/career-paths", Body($"normal-{Guid.NewGuid():N}", "openai"));
        Assert.Equal("gpt-4o", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["meta"]!["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_user_over_the_daily_request_quota_gets_429_with_retry_after()
    {
        var user = $"quota-{Guid.NewGuid():N}";
        for (var i = 0; i < ApiReplica.PerUserRequestsPerDay; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await fixture.Client().PostAsJsonAsync("/v1/career-paths", Body(user))).StatusCode);
        }

        var refused = await fixture.Client().PostAsJsonAsync("/v1/career-paths", Body(user));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal("/problems/user-quota-exceeded", problem["type"]!.GetValue<string>());
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        // Another user is unaffected.
        Assert.Equal(HttpStatusCode.OK, (await fixture.Client().PostAsJsonAsync("/v1/career-paths", Body($"quota-{Guid.NewGuid():N}"))).StatusCode);
    }

    [Fact]
    public async Task Todays_pacing_cap_refuses_with_its_own_problem_type()
    {
        await using var own = fixture.InOwnMonth();
        var paid = await BudgetReports.CostOfAsync(await own.Client().PostAsJsonAsync("/v1/career-paths", Body($"pace-{Guid.NewGuid():N}")));
        var before = await BudgetReports.WaitForSpentAsync(own.Admin, own.Month, paid);
        Assert.Equal(paid, before.TodaySpentUsd);

        // With pacing factor 3, today's cap is limit × 3 / days in month. A limit of 0.9 × that puts the cap
        // below what today already spent, while the month is only about 10% used.
        var first = DateTime.ParseExact(own.Month, "yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        var limit = Math.Round(paid * DateTime.DaysInMonth(first.Year, first.Month) / 3m * 0.9m, 6);
        Assert.True(paid < limit * 0.8m, "the test needs the month under its soft limit");
        (await own.Admin.PutAsJsonAsync($"/admin/budget/{own.Month}/limit", new { limitUsd = limit, dailyPacingFactor = 3 })).EnsureSuccessStatusCode();

        var refused = await own.Client().PostAsJsonAsync("/v1/career-paths", Body($"pace-{Guid.NewGuid():N}"));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("/problems/daily-budget-exhausted", JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["type"]!.GetValue<string>());
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        var after = await BudgetReports.QuietAsync(own.Admin, own.Month);
        Assert.Equal(paid, after.SpentUsd);
        Assert.Equal(0m, after.ReservedUsd);
    }

    [Fact]
    public async Task Limit_changes_are_audited_with_the_admin_key_name()
    {
        await using var own = fixture.InOwnMonth();
        var alice = own.Replicas[0].Client("alice-admin-key");
        (await alice.PutAsJsonAsync($"/admin/budget/{own.Month}/limit", new { limitUsd = 4321 })).EnsureSuccessStatusCode();
        (await alice.PutAsJsonAsync($"/admin/budget/{own.Month}/limit", new { limitUsd = 5000 })).EnsureSuccessStatusCode();

        var audit = JsonNode.Parse(await alice.GetStringAsync($"/admin/budget/{own.Month}/audit"))!.AsArray();
        Assert.Equal(2, audit.Count);
        Assert.Contains(audit, a => a!["actor"]!.GetValue<string>() == "alice" && a["from"]!.GetValue<decimal>() == 5000m && a["to"]!.GetValue<decimal>() == 4321m);
        Assert.Contains(audit, a => a!["actor"]!.GetValue<string>() == "alice" && a["from"]!.GetValue<decimal>() == 4321m && a["to"]!.GetValue<decimal>() == 5000m);
    }

    [Fact]
    public async Task Rejections_requests_tokens_cost_and_budget_gauges_are_exported_with_their_values()
    {
        // Collected from this replica's own meters: in this process other replicas export under the same
        // names, and tests of other collections move their counters meanwhile.
        var meters = fixture.Replicas[0].Services.GetRequiredService<IMeterFactory>();
        using var requests = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "navigator.requests");
        using var rejections = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "navigator.rejections");
        using var tokens = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "navigator.tokens");
        using var cost = new MetricCollector<double>(meters, GatewayMetrics.MeterName, "navigator.cost.usd");
        using var attempts = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "navigator.provider.attempts");
        using var remaining = new MetricCollector<double>(meters, GatewayMetrics.MeterName, "navigator.budget.remaining_usd");

        var invalid = await fixture.Client().PostAsJsonAsync("/v1/career-paths", new { userId = "m" });
        var served = await fixture.Client().PostAsJsonAsync("/v1/career-paths", Body($"gauge-{Guid.NewGuid():N}", "openai"));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var meta = JsonNode.Parse(await served.Content.ReadAsStringAsync())!["meta"]!;
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);

        Assert.Equal(1, Sum(rejections, ("reason", "invalid")));
        Assert.Equal(1, Sum(rejections));
        Assert.Equal(1, Sum(requests, ("outcome", "invalid")));
        Assert.Equal(1, Sum(requests, ("outcome", "success"), ("provider", "openai")));
        Assert.Equal(2, Sum(requests));
        Assert.Equal(meta["inputTokens"]!.GetValue<int>(), Sum(tokens, ("direction", "input"), ("provider", "openai")));
        Assert.Equal(meta["outputTokens"]!.GetValue<int>(), Sum(tokens, ("direction", "output"), ("provider", "openai")));
        Assert.Equal((double)meta["costUsd"]!.GetValue<decimal>(), Sum(cost, ("provider", "openai"), ("model", "gpt-4o")), 9);
        Assert.Equal(1, Sum(attempts, ("provider", "openai"), ("outcome", "success")));
        Assert.Equal(1, Sum(attempts));

        // The gauge shows what this replica last saw of the month's ledger.
        var status = await BudgetAsync(fixture.Client(ApiFixture.AdminKey));
        remaining.RecordObservableInstruments();
        var gauge = Assert.Single(remaining.GetMeasurementSnapshot(), m => Equals(m.Tags["month"], Month));
        Assert.InRange(gauge.Value, (double)(status.LimitUsd - status.SpentUsd - status.ReservedUsd - status.InFlightUsd) - 1, (double)status.LimitUsd);

        // And Prometheus exports them under their exposition names.
        var exposition = await fixture.Client(null).GetStringAsync("/metrics");
        Assert.True(PrometheusText.Sum(exposition, "navigator_rejections_total", ("reason", "invalid")) >= 1);
        Assert.True(PrometheusText.Sum(exposition, "navigator_budget_remaining_usd", ("month", Month)) > 0);
    }

    private static double Sum<T>(MetricCollector<T> collector, params (string Name, string Value)[] tags)
        where T : struct =>
        collector.GetMeasurementSnapshot()
            .Where(m => tags.All(t => Equals(m.Tags.GetValueOrDefault(t.Name), t.Value)))
            .Sum(m => Convert.ToDouble(m.Value, System.Globalization.CultureInfo.InvariantCulture));

    private static Task<BudgetView> BudgetAsync(HttpClient admin) => BudgetReports.QuietAsync(admin, Month);
}

/// <summary>Replicas report what they charged every 250 ms; tests wait for a report instead of assuming it arrived.</summary>
public static class BudgetReports
{
    /// <summary>What a served request was charged (meta.costUsd); fails unless it was served.</summary>
    public static async Task<decimal> CostOfAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["meta"]!["costUsd"]!.GetValue<decimal>();
    }

    public static Task<BudgetView> WaitForSpentAsync(HttpClient admin, string month, decimal spentUsd) =>
        WaitForAsync(admin, month, view => view.SpentUsd == spentUsd && view.InFlightUsd == 0);

    /// <summary>The budget view once every replica has reported what it charged: two reads a report period apart agree.</summary>
    public static async Task<BudgetView> QuietAsync(HttpClient admin, string month)
    {
        var last = (await admin.GetFromJsonAsync<BudgetView>($"/admin/budget/{month}"))!;
        for (var i = 0; i < 20; i++)
        {
            await Task.Delay(300);
            var view = (await admin.GetFromJsonAsync<BudgetView>($"/admin/budget/{month}"))!;
            if (view.SpentUsd == last.SpentUsd && view.InFlightUsd == 0)
            {
                return view;
            }

            last = view;
        }

        return last;
    }

    /// <summary>The budget view once <paramref name="condition"/> holds, or after 5 s the last one read.</summary>
    public static async Task<BudgetView> WaitForAsync(HttpClient admin, string month, Func<BudgetView, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (true)
        {
            var view = (await admin.GetFromJsonAsync<BudgetView>($"/admin/budget/{month}"))!;
            if (condition(view) || DateTime.UtcNow > deadline)
            {
                return view;
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>The hard cap under load: 1,000 concurrent requests through two API replicas (two Orleans clients).</summary>
[Collection(ReplicaCollection.Name)]
public sealed class HardCapConcurrencyTests(TwoReplicaFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Spend_never_exceeds_the_limit_and_equals_the_sum_of_settled_costs()
    {
        await using var own = fixture.InOwnMonth(2);
        var (admin, month) = (own.Admin, own.Month);
        // A worst-case reservation for this request is about $0.009 (gpt-4o, ~330 input + 800 output tokens):
        // this limit pays for roughly 200 of the 1,000 requests.
        const decimal limit = 1.80m;
        (await admin.PutAsJsonAsync($"/admin/budget/{month}/limit", new { limitUsd = limit, dailyPacingFactor = 0 })).EnsureSuccessStatusCode();
        var samples = new ConcurrentBag<BudgetView>();
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                samples.Add((await admin.GetFromJsonAsync<BudgetView>($"/admin/budget/{month}"))!);
            }
        });

        var clients = own.Replicas.Select(r => r.Client()).ToArray();
        var responses = await Task.WhenAll(Enumerable.Range(0, 1000).Select(async i =>
        {
            var response = await clients[i % clients.Length].PostAsJsonAsync("/v1/career-paths", new
            {
                userId = $"load-{i}",
                userProfile = "Software Engineer, 5 years, Python/Java, interested in AI/ML",
                jobMarketData = "AI Engineer: $120k-180k, ML Engineer: $130k-200k, Data Scientist: $110k-170k",
                provider = "openai",
            });
            return (response.StatusCode, Body: JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
        }));
        sampling.Cancel();
        await sampler;

        var ok = responses.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        var charged = ok.Sum(r => r.Body["meta"]!["costUsd"]!.GetValue<decimal>());
        // The replicas report their leases every 250 ms: wait (at most 5 s) for the last charges to arrive.
        var after = await BudgetReports.WaitForSpentAsync(admin, month, charged);
        output.WriteLine($"{ok.Count} served, {refused.Count} refused; spent {after.SpentUsd} of {limit}; peak {after.PeakCommittedUsd}; {samples.Count} samples");

        Assert.Equal(1000, ok.Count + refused.Count);
        Assert.InRange(ok.Count, 150, 999);
        Assert.All(refused, r => Assert.Equal("/problems/budget-exhausted", r.Body["type"]!.GetValue<string>()));
        Assert.NotEmpty(refused);
        Assert.NotEmpty(samples);
        Assert.All(samples, s => Assert.True(s.SpentUsd + s.ReservedUsd <= s.LimitUsd, $"{s.SpentUsd} + {s.ReservedUsd} > {s.LimitUsd}"));
        Assert.True(after.PeakCommittedUsd <= limit, $"peak {after.PeakCommittedUsd} > limit {limit}");
        Assert.Equal(0m, after.InFlightUsd);
        Assert.True(after.SpentUsd + after.ReservedUsd <= limit);
        Assert.Equal(after.SpentUsd, charged);
    }
}

/// <summary>The month's last dollars, and a replica that stops, across two replicas.</summary>
[Collection(ReplicaCollection.Name)]
public sealed class BudgetLeaseApiTests(TwoReplicaFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
{
    private static object Body(int i) => new
    {
        userId = $"lease-{i}",
        userProfile = "Software Engineer, 5 years, Python/Java, interested in AI/ML",
        jobMarketData = "AI Engineer: $120k-180k, ML Engineer: $130k-200k",
        provider = "openai",
    };

    [Fact]
    public async Task Requests_are_served_until_at_least_99_percent_of_the_limit_is_spent_and_never_more()
    {
        await using var own = fixture.InOwnMonth(2);
        var (admin, month) = (own.Admin, own.Month);
        // A worst case is about $0.009 and a served request costs about $0.002: $1 is some 500 requests,
        // and the last 1% ($0.01) is about one worst case.
        const decimal limit = 1.00m;
        (await admin.PutAsJsonAsync($"/admin/budget/{month}/limit", new { limitUsd = limit, dailyPacingFactor = 0 })).EnsureSuccessStatusCode();
        var clients = own.Replicas.Select(r => r.Client()).ToArray();
        decimal charged = 0;
        int served = 0, refused = 0;
        // Until the first refusal: a 429 while more than 1% is left would mean money stranded on a replica.
        for (var i = 0; refused == 0 && i < 4000; i += 8)
        {
            // Eight at a time, spread over both replicas.
            var batch = await Task.WhenAll(Enumerable.Range(i, 8).Select(async n =>
            {
                var response = await clients[n % 2].PostAsJsonAsync("/v1/career-paths", Body(n));
                return (response.StatusCode, Body: JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
            }));
            Assert.All(batch, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
            var ok = batch.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
            served += ok.Count;
            charged += ok.Sum(r => r.Body["meta"]!["costUsd"]!.GetValue<decimal>());
            refused += batch.Length - ok.Count;
        }

        var after = await BudgetReports.WaitForSpentAsync(admin, month, charged);
        Assert.True(refused > 0, "the limit was never reached");
        output.WriteLine($"{served} served before the first refusal; spent {after.SpentUsd} of {limit}; peak {after.PeakCommittedUsd}");
        Assert.Equal(charged, after.SpentUsd);
        Assert.True(after.SpentUsd >= limit * 0.99m, $"only {after.SpentUsd} of {limit} spent");
        Assert.True(after.PeakCommittedUsd <= limit, $"peak {after.PeakCommittedUsd} > limit {limit}");
    }

    [Fact]
    public async Task A_lowered_limit_stops_new_attempts_on_every_replica_within_a_second()
    {
        await using var own = fixture.InOwnMonth(2);
        var (admin, month) = (own.Admin, own.Month);
        var clients = own.Replicas.Select(r => r.Client()).ToArray();
        // Both replicas hold a lease with headroom.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await clients[i % 2].PostAsJsonAsync("/v1/career-paths", Body(20_000 + i))).StatusCode);
        }

        var before = await BudgetReports.QuietAsync(admin, month);
        Assert.Equal(2, before.Leases.Count(l => l.OutstandingUsd > 0));

        // Through replica 0: replica 1 hears of it only from its own next lease report.
        (await admin.PutAsJsonAsync($"/admin/budget/{month}/limit", new { limitUsd = before.SpentUsd, dailyPacingFactor = 0 })).EnsureSuccessStatusCode();
        await Task.Delay(TimeSpan.FromSeconds(1));

        var refused = await clients[1].PostAsJsonAsync("/v1/career-paths", Body(20_100));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("/problems/budget-exhausted", JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["type"]!.GetValue<string>());
        var after = await BudgetReports.WaitForAsync(admin, month, v => v.ReservedUsd == 0);
        Assert.Equal(before.SpentUsd, after.SpentUsd);
        Assert.Equal(0m, after.ReservedUsd);
    }

    [Fact]
    public async Task A_replica_that_stops_reports_everything_and_returns_its_lease()
    {
        await using var own = fixture.InOwnMonth();
        var client = own.Client();
        var replicaId = own.Replicas[0].Services.GetRequiredService<Pipeline.BudgetLeases>().ReplicaId;
        decimal charged = 0;
        for (var i = 0; i < 10; i++)
        {
            charged += await BudgetReports.CostOfAsync(await client.PostAsJsonAsync("/v1/career-paths", Body(10_000 + i)));
        }

        Assert.True(charged > 0);
        await own.DisposeAsync(); // a graceful stop, as on SIGTERM (disposing twice is harmless)

        // No waiting for a report period: the stop reported the last charges and returned the lease.
        var after = (await fixture.Replicas[0].Client(ApiReplica.AdminKey).GetFromJsonAsync<BudgetView>($"/admin/budget/{own.Month}"))!;
        Assert.Equal(charged, after.SpentUsd);
        Assert.DoesNotContain(after.Leases, l => l.ReplicaId == replicaId);
        Assert.Equal(0m, after.UnreconciledUsd);
    }
}

/// <summary>Per-user quotas counted on each replica and synced cluster-wide.</summary>
[Collection(ReplicaCollection.Name)]
public sealed class ClusterQuotaTests(TwoReplicaFixture fixture)
{
    [Fact]
    public async Task A_users_requests_on_one_replica_count_on_the_other_after_one_sync()
    {
        var user = $"quota-{Guid.NewGuid():N}";
        var body = new
        {
            userId = user,
            userProfile = "Data analyst, 4 years of SQL and Python",
            jobMarketData = "Data Engineer: $120k-170k",
        };
        var (a, b) = (fixture.Replicas[0].Client(), fixture.Replicas[1].Client());
        for (var i = 0; i < 12; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await a.PostAsJsonAsync("/v1/career-paths", body)).StatusCode);
        }

        // Replica A syncs its counts within a second; replica B learns them from the refresh its first
        // request for this user starts (that first request is admitted on what B knew: nothing).
        await Task.Delay(Pipeline.UserQuotas.SyncPeriod * 1.5);
        var served = 0;
        HttpResponseMessage response;
        while ((response = await b.PostAsJsonAsync("/v1/career-paths", body)).StatusCode == HttpStatusCode.OK && served < 50)
        {
            served++;
        }

        Assert.Equal(ApiReplica.PerUserRequestsPerDay - 12, served);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        // A still believes 12 were used. Once its view is stale, its next request may be admitted on it
        // (the documented overshoot: at most the requests before the refresh returns), and from then on A refuses.
        await Task.Delay(Pipeline.UserQuotas.StaleAfter + Pipeline.UserQuotas.SyncPeriod);
        var first = (await a.PostAsJsonAsync("/v1/career-paths", body)).StatusCode;
        Assert.Contains(first, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests });
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await a.PostAsJsonAsync("/v1/career-paths", body)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await b.PostAsJsonAsync("/v1/career-paths", body)).StatusCode);

        // The quota grains hold counts in memory only. Losing them (every idle activation collected, as a
        // silo loss would) changes nothing: each replica keeps what it knew and refills the grains.
        await Task.Delay(Pipeline.UserQuotas.SyncPeriod * 1.5);
        await fixture.Replicas[0].Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        await Task.Delay(Pipeline.UserQuotas.StaleAfter + Pipeline.UserQuotas.SyncPeriod);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await a.PostAsJsonAsync("/v1/career-paths", body)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await b.PostAsJsonAsync("/v1/career-paths", body)).StatusCode);
    }
}

/// <summary>The month's ledger changes at midnight UTC on the month's last day.</summary>
[Collection(ApiCollection.Name)]
public sealed class MonthRolloverTests(ApiFixture fixture)
{
    [Fact]
    public async Task At_the_last_second_of_a_month_the_next_request_opens_the_new_months_ledger()
    {
        // Months of their own, years away, so no other test touches them.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2031, 12, 31, 23, 59, 59, 500, TimeSpan.Zero));
        await using var replica = fixture.NewReplica(services: s => s.AddSingleton<TimeProvider>(clock));
        var admin = replica.Client(ApiReplica.AdminKey);
        var body = new { userId = $"rollover-{Guid.NewGuid():N}", userProfile = "Data analyst, 4 years of SQL", jobMarketData = "Data Engineer: $120k-170k", provider = "openai" };

        var december = await CostOfAsync(await PostWhileTheClockRunsAsync(replica, clock, body));
        clock.Advance(new DateTimeOffset(2032, 1, 1, 0, 0, 0, TimeSpan.Zero) - clock.GetUtcNow());
        var january = await CostOfAsync(await PostWhileTheClockRunsAsync(replica, clock, body));

        // Lease reports run on the replica's clock: move it on until both months have been reported.
        BudgetView dec = null!, jan = null!;
        for (var i = 0; i < 40; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(50);
            (dec, jan) = ((await admin.GetFromJsonAsync<BudgetView>("/admin/budget/2031-12"))!, (await admin.GetFromJsonAsync<BudgetView>("/admin/budget/2032-01"))!);
            if (dec.SpentUsd == december && jan.SpentUsd == january)
            {
                break;
            }
        }

        Assert.True(december > 0 && january > 0);
        Assert.Equal(december, dec.SpentUsd);
        // The new month starts from its own limit and its own spend: the pacing base and the alerts start fresh.
        Assert.Equal(january, jan.SpentUsd);
        Assert.Equal(5000m, jan.LimitUsd);
        Assert.Equal(january, jan.TodaySpentUsd);
        Assert.Contains(jan.Leases, l => l.ChargedUsd == january);
    }

    /// <summary>The simulated provider waits on the replica's clock: let it run (1 ms a millisecond) while the request is served.</summary>
    private static async Task<HttpResponseMessage> PostWhileTheClockRunsAsync(ApiReplica replica, Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, object body)
    {
        var request = replica.Client().PostAsJsonAsync("/v1/career-paths", body);
        while (!request.IsCompleted)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            await Task.Delay(1);
        }

        return await request;
    }

    private static async Task<decimal> CostOfAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["meta"]!["costUsd"]!.GetValue<decimal>();
    }
}

