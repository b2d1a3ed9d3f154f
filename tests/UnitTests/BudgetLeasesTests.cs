using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Navigator.Api.Pipeline;
using Navigator.Grains.Budget;

namespace Navigator.UnitTests;

/// <summary>A replica's budget leases against the real ledger arithmetic (in memory), on a fake clock.</summary>
public sealed class BudgetLeasesTests
{
    private const string Month = "2026-11";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 10, 12, 0, 0, TimeSpan.Zero));

    private (BudgetLeases Leases, InMemoryLedger Ledger, BudgetMonitor Monitor) Build(decimal limit = 100m, decimal? dailyCap = null)
    {
        var ledger = new InMemoryLedger(Month, limit, _time);
        if (dailyCap is { } cap)
        {
            // A pacing factor that makes the daily cap exactly `cap` (30 days in November).
            ledger.State.DailyPacingFactor = cap * 30 / limit;
        }

        var monitor = new BudgetMonitor(TestDoubles.Meters());
        return (new BudgetLeases(TestDoubles.GrainsOf<IGrainFactory>(ledger), monitor, _time, NullLogger<BudgetLeases>.Instance), ledger, monitor);
    }

    [Fact]
    public async Task The_first_reservation_opens_a_lease_asking_for_four_worst_cases_and_later_ones_need_no_report()
    {
        var (leases, ledger, _) = Build();

        var hold = await leases.ReserveAsync(Month, 0.5m, CancellationToken.None);

        var opening = Assert.Single(ledger.Reports);
        Assert.Null(opening.LeaseId);
        Assert.Equal(leases.ReplicaId, opening.ReplicaId);
        Assert.Equal(0.5m * BudgetLeases.MinimumWorstCases, opening.WantUsd);
        Assert.Equal(0.5m, opening.NeedUsd);
        Assert.Equal(0.5m, hold.AmountUsd);
        for (var i = 0; i < 3; i++)
        {
            await leases.ReserveAsync(Month, 0.5m, CancellationToken.None);
        }

        Assert.Single(ledger.Reports);
        Assert.Equal(2m, hold.Lease.InFlightUsd);
    }

    [Fact]
    public async Task The_largest_recent_worst_case_sets_the_headroom_asked_for()
    {
        var (leases, ledger, _) = Build();
        await leases.ReserveAsync(Month, 0.5m, CancellationToken.None);
        await leases.ReserveAsync(Month, 2m, CancellationToken.None); // 0.5 + 2 does not fit 4 × 0.5: a renewal

        Assert.Equal(2, ledger.Reports.Count);
        Assert.Equal(2m * BudgetLeases.MinimumWorstCases, ledger.Reports[^1].WantUsd);
    }

    [Fact]
    public async Task Settled_charges_reach_the_ledger_with_the_next_report()
    {
        var (leases, ledger, _) = Build();
        var hold = await leases.ReserveAsync(Month, 0.5m, CancellationToken.None);
        BudgetLeases.Settle(hold, 0.2m);

        await ReportOnceAsync(leases);

        var report = ledger.Reports[^1];
        Assert.Equal((0.2m, 0m, 0m), (report.ChargedUsd, report.InFlightUsd, report.NeedUsd));
        Assert.Equal(0.2m, ledger.State.SpentUsd);
    }

    [Fact]
    public async Task The_headroom_follows_the_rate_of_recent_reservations()
    {
        var (leases, ledger, _) = Build(limit: 1000m);
        // 20 reservations of $0.1 in one 250 ms period: $8/s, smoothed to 30% in the first tick = $2.4/s,
        // and the lease should hold 2 s of it: $4.8 (more than 4 worst cases, $0.4).
        for (var i = 0; i < 20; i++)
        {
            BudgetLeases.Settle(await leases.ReserveAsync(Month, 0.1m, CancellationToken.None), 0.1m);
        }

        await ReportOnceAsync(leases);
        Assert.Equal(4.8m, Math.Round(ledger.Reports[^1].WantUsd, 6));

        // A quiet period: the rate decays to 70% ($1.68/s), and the lease asks for 2 s of it.
        await ReportOnceAsync(leases);
        Assert.Equal(3.36m, Math.Round(ledger.Reports[^1].WantUsd, 6));
    }

    [Fact]
    public async Task A_lease_idle_for_thirty_seconds_is_returned_and_forgotten_once_settled()
    {
        var (leases, ledger, monitor) = Build();
        BudgetLeases.Settle(await leases.ReserveAsync(Month, 0.5m, CancellationToken.None), 0.3m);
        await ReportOnceAsync(leases);
        Assert.NotEmpty(ledger.State.Leases);

        // The reservation was at 0 s, the first report at 0.25 s: this report comes exactly 30 s after the last use.
        _time.Advance(BudgetLeases.IdleRelease - 2 * BudgetLeases.ReportPeriod);
        await ReportOnceAsync(leases);
        Assert.False(ledger.Reports[^1].Release); // exactly 30 s idle: still kept
        await ReportOnceAsync(leases);

        Assert.True(ledger.Reports[^1].Release);
        Assert.Empty(ledger.State.Leases);
        Assert.Equal(0.3m, ledger.State.SpentUsd);
        // The ledger's answer to the release reached the monitor: nothing reserved any more.
        Assert.Equal(100m - 0.3m, monitor.Latest!.RemainingUsd);
        var reports = ledger.Reports.Count;
        await ReportOnceAsync(leases);
        Assert.Equal(reports, ledger.Reports.Count); // nothing left to report: the returned lease is forgotten
    }

    [Fact]
    public async Task A_renewal_that_never_makes_room_gives_up_after_a_thousand_tries()
    {
        var stingy = new StingyLedger();
        var leases = new BudgetLeases(TestDoubles.GrainsOf<IGrainFactory>(stingy), new BudgetMonitor(TestDoubles.Meters()), _time, NullLogger<BudgetLeases>.Instance);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => leases.ReserveAsync(Month, 1m, CancellationToken.None).AsTask());

        Assert.Equal(1000, stingy.Calls);
        Assert.Contains("could not make room for $1 in 1000 renewals", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lease_in_use_is_not_returned_however_long_it_is_idle()
    {
        var (leases, ledger, _) = Build();
        await leases.ReserveAsync(Month, 0.5m, CancellationToken.None); // never settled: in flight

        _time.Advance(TimeSpan.FromMinutes(2));
        await ReportOnceAsync(leases);

        Assert.False(ledger.Reports[^1].Release);
        Assert.Equal(0.5m, ledger.Reports[^1].InFlightUsd);
    }

    [Fact]
    public async Task Over_the_limit_a_reservation_is_refused_with_what_remains()
    {
        var (leases, _, _) = Build(limit: 1m);
        await leases.ReserveAsync(Month, 0.8m, CancellationToken.None);

        var refused = await Assert.ThrowsAsync<BudgetExhaustedException>(() => leases.ReserveAsync(Month, 0.5m, CancellationToken.None).AsTask());

        Assert.False(refused.DailyCap);
        Assert.Contains("needs up to $0.5", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_the_daily_cap_the_refusal_says_so()
    {
        var (leases, _, _) = Build(limit: 300m, dailyCap: 1m);

        var refused = await Assert.ThrowsAsync<BudgetExhaustedException>(() => leases.ReserveAsync(Month, 2m, CancellationToken.None).AsTask());

        Assert.True(refused.DailyCap);
    }

    [Fact]
    public async Task Attempts_waiting_for_room_share_one_renewal_that_asks_for_all_of_them()
    {
        var (leases, ledger, _) = Build();
        await leases.ReserveAsync(Month, 1m, CancellationToken.None); // a lease with room for 4 × $1
        for (var i = 0; i < 3; i++)
        {
            await leases.ReserveAsync(Month, 1m, CancellationToken.None);
        }

        var gate = new TaskCompletionSource();
        ledger.BeforeReport = () => gate.Task;
        var waiting = Enumerable.Range(0, 8).Select(_ => leases.ReserveAsync(Month, 1m, CancellationToken.None).AsTask()).ToList();
        await Task.Delay(50);
        Assert.Single(ledger.Reports); // the renewal is held at the gate; nobody got in on their own
        gate.SetResult();
        await Task.WhenAll(waiting);

        // The first renewal went out before the others had queued, and its grant (four worst cases) let four in;
        // the one after it asked for everybody still waiting, at least the other four.
        Assert.InRange(ledger.Reports.Count, 3, 4);
        Assert.Equal(waiting.Count, waiting.Count(w => w.IsCompletedSuccessfully));
        Assert.True(ledger.Reports.Skip(1).Max(r => r.NeedUsd) >= 4m, string.Join(", ", ledger.Reports.Select(r => r.NeedUsd)));
    }

    [Fact]
    public async Task A_cancelled_wait_gives_up_its_place_in_the_queue()
    {
        var (leases, ledger, _) = Build(limit: 1000m);
        await leases.ReserveAsync(Month, 1m, CancellationToken.None); // a lease with room for 4 × $1
        for (var i = 0; i < 3; i++)
        {
            await leases.ReserveAsync(Month, 1m, CancellationToken.None);
        }

        // One attempt renews for $10 and is held at the gate; a $50 one joins the queue, then gives up.
        var gate = new TaskCompletionSource();
        ledger.BeforeReport = () => gate.Task;
        var first = leases.ReserveAsync(Month, 10m, CancellationToken.None).AsTask();
        using var cancel = new CancellationTokenSource();
        var abandoned = leases.ReserveAsync(Month, 50m, cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        ledger.BeforeReport = null;
        gate.SetResult();
        await first;

        // The next renewal asks for what is waiting now: the $300 attempt alone, not the abandoned $50 too.
        await leases.ReserveAsync(Month, 300m, CancellationToken.None);

        Assert.Equal(300m, ledger.Reports[^1].NeedUsd);
    }

    [Fact]
    public async Task A_lease_the_ledger_closed_is_replaced_and_its_attempts_still_settle_on_it()
    {
        var (leases, ledger, _) = Build();
        var early = await leases.ReserveAsync(Month, 0.5m, CancellationToken.None);
        // The replica falls silent past the lease's TTL: the ledger expires the lease, and answers its next report "closed".
        _time.Advance(InMemoryLedger.LeaseTtl + TimeSpan.FromSeconds(1));
        Assert.Equal(1, BudgetLedger.ExpireDue(ledger.State, _time.GetUtcNow()));
        await ReportOnceAsync(leases);

        var late = await leases.ReserveAsync(Month, 0.5m, CancellationToken.None);

        Assert.NotSame(early.Lease, late.Lease);
        Assert.NotNull(late.Lease.LeaseId);
        Assert.NotEqual(early.Lease.LeaseId, late.Lease.LeaseId);
    }

    [Fact]
    public async Task On_stop_the_replica_waits_for_attempts_in_flight_then_reports_and_returns_its_leases()
    {
        var (leases, ledger, _) = Build();
        var hold = await leases.ReserveAsync(Month, 0.5m, CancellationToken.None);
        var stopping = leases.StoppingAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(50));
        Assert.False(stopping.IsCompleted); // waiting for the attempt in flight
        BudgetLeases.Settle(hold, 0.25m);
        for (var i = 0; i < 5 && !stopping.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(10);
        }

        await stopping;

        Assert.True(ledger.Reports[^1].Release);
        Assert.Equal(0.25m, ledger.State.SpentUsd);
        Assert.Empty(ledger.State.Leases);
    }

    [Fact]
    public async Task A_refresh_reports_at_once_and_a_month_without_a_lease_is_left_alone()
    {
        var (leases, ledger, _) = Build();
        await leases.RefreshAsync(Month);
        Assert.Empty(ledger.Reports);

        await leases.ReserveAsync(Month, 0.5m, CancellationToken.None);
        await leases.RefreshAsync(Month);

        Assert.Equal(2, ledger.Reports.Count);
        Assert.Equal(0m, ledger.Reports[^1].NeedUsd);
    }

    [Fact]
    public async Task Every_answer_from_the_ledger_updates_the_budget_monitor()
    {
        var meters = TestDoubles.Meters();
        using var remaining = new MetricCollector<double>(meters, Navigator.Api.Telemetry.GatewayMetrics.MeterName, "navigator.budget.remaining_usd");
        var ledger = new InMemoryLedger(Month, 10m, _time);
        var leases = new BudgetLeases(TestDoubles.GrainsOf<IGrainFactory>(ledger), new BudgetMonitor(meters), _time, NullLogger<BudgetLeases>.Instance);
        BudgetLeases.Settle(await leases.ReserveAsync(Month, 1m, CancellationToken.None), 1m);
        await leases.RefreshAsync(Month);

        remaining.RecordObservableInstruments();
        // What the ledger answered the refresh with: $10, less $1 spent and the lease's headroom.
        Assert.Equal((double)(await ledger.GetStatusAsync()).RemainingUsd, remaining.LastMeasurement!.Value);
        Assert.True(remaining.LastMeasurement.Value < 9.0);
    }

    /// <summary>Grants every renewal but never any room: as if other attempts always took it first.</summary>
    private sealed class StingyLedger : IBudgetGrain
    {
        public int Calls { get; private set; }

        public Task<LeaseGrant> RenewLeaseAsync(LeaseReport report)
        {
            Calls++;
            var status = new BudgetStatus(Month, 100m, 0m, 0m, [], 0m, null, 0m, 0m);
            return Task.FromResult(new LeaseGrant(LeaseOutcome.Granted, "lease-1", 0m, TimeSpan.FromSeconds(15), status));
        }

        public Task<BudgetStatus> GetStatusAsync() => throw new NotSupportedException();

        public Task<BudgetStatus> SetLimitAsync(decimal limitUsd, decimal? dailyPacingFactor, string actor) => throw new NotSupportedException();

        public Task<IReadOnlyList<BudgetAuditEntry>> GetAuditAsync() => throw new NotSupportedException();
    }

    /// <summary>One report period passes on the fake clock, and the replica does that period's reporting.</summary>
    private async Task ReportOnceAsync(BudgetLeases leases)
    {
        _time.Advance(BudgetLeases.ReportPeriod);
        await leases.ReportAllAsync(CancellationToken.None);
    }
}
