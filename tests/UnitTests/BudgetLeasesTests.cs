using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Navigator.Api.Pipeline;

namespace Navigator.UnitTests;

/// <summary>
/// A replica's leases against the real ledger arithmetic (<see cref="LedgerGrain"/>), on a fake clock:
/// what a reservation asks the month for, the report loop (charges, idle release, closed leases) and
/// what a stop returns.
/// </summary>
public sealed class BudgetLeasesTests
{
    private const string Month = LedgerGrain.Month;

    [Fact]
    public async Task The_first_reservation_opens_a_lease_of_four_worst_cases_and_the_next_ones_use_it_without_a_grain_call()
    {
        var r = new Replica();

        var first = await r.ReserveAsync(1m);
        var second = await r.ReserveAsync(1m);

        var open = Assert.Single(r.Ledger.Reports);
        Assert.Null(open.LeaseId);
        Assert.Equal(r.Leases.ReplicaId, open.ReplicaId);
        Assert.Equal(1m, open.NeedUsd);
        Assert.Equal(4m, open.WantUsd);
        Assert.Same(first.Lease, second.Lease);
        Assert.Equal(4m, first.Lease.CeilingUsd);
        Assert.Equal(2m, first.Lease.InFlightUsd);
        // The replica's budget view is the ledger's answer.
        var view = Assert.Single(r.Monitor.Latest!.Leases);
        Assert.Equal((first.Lease.LeaseId, r.Leases.ReplicaId, 4m), (view.LeaseId, view.ReplicaId, view.GrantedUsd));
    }

    [Fact]
    public async Task Two_replicas_in_one_process_hold_leases_under_their_own_names()
    {
        var r = new Replica();
        var other = new BudgetLeases(TestDoubles.Grains(r.Ledger), new BudgetMonitor(TestDoubles.Meters()), r.Clock, NullLogger<BudgetLeases>.Instance);

        await r.ReserveAsync(1m);
        await other.ReserveAsync(Month, 1m, CancellationToken.None);

        Assert.StartsWith($"{Environment.MachineName}-{Environment.ProcessId}-", r.Leases.ReplicaId, StringComparison.Ordinal);
        Assert.NotEqual(r.Leases.ReplicaId, other.ReplicaId);
        Assert.Equal(new[] { r.Leases.ReplicaId, other.ReplicaId }.Order(), r.Ledger.State.Leases.Values.Select(l => l.ReplicaId).Order());
    }

    [Fact]
    public async Task Attempts_waiting_for_a_renewal_share_it_and_the_next_renewal_asks_for_all_of_them()
    {
        var r = new Replica();
        var small = await r.ReserveAsync(0.01m); // a lease of $0.04
        BudgetLeases.Settle(small, 0.01m);
        r.Ledger.HoldAnswers();
        var routine = r.Leases.RefreshAsync(Month);
        var a = r.ReserveAsync(1m);
        var b = r.ReserveAsync(1m);
        Assert.False(a.IsCompleted || b.IsCompleted);
        var before = r.Ledger.Reports.Count;

        r.Ledger.ReleaseAnswers();
        var holds = await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(10));
        await routine;

        // The routine report asked for nothing and left no room for $1; the renewal after it asks for both waiters.
        var reports = r.Ledger.Reports.Skip(before).ToList();
        Assert.Equal(0m, reports[0].NeedUsd);
        Assert.Equal(2m, reports.First(x => x.NeedUsd > 0).NeedUsd);
        Assert.Same(holds[0].Lease, holds[1].Lease);
        Assert.Equal(2m, holds[0].Lease.InFlightUsd);
        // Once they have their room, nobody waits: the next report asks for nothing.
        await r.Leases.RefreshAsync(Month);
        Assert.Equal(0m, r.Ledger.Reports[^1].NeedUsd);
    }

    [Fact]
    public async Task A_cancelled_wait_is_the_cluster_s_failure_and_leaves_its_renewal_running_and_the_grant_on_the_lease()
    {
        var r = new Replica();
        using var cancel = new CancellationTokenSource();
        r.Ledger.HoldAnswers(); // its storage write hangs
        var waiting = r.Leases.ReserveAsync(Month, 1m, cancel.Token).AsTask();

        await cancel.CancelAsync();
        // The attempt's time ran out waiting for the ledger: 503 cluster-unavailable with Retry-After, never a 500.
        var failure = await Assert.ThrowsAsync<TimeoutException>(() => waiting);
        Assert.Contains("budget ledger did not answer in time", failure.Message, StringComparison.Ordinal);
        Assert.True(Navigator.Api.Apis.Problems.IsClusterUnavailable(failure));
        r.Ledger.ReleaseAnswers();
        var hold = await r.ReserveAsync(1m);

        // The renewal the cancelled attempt started opened the lease the next attempt uses, with no second call.
        var open = Assert.Single(r.Ledger.Reports);
        Assert.Equal(1m, open.NeedUsd);
        Assert.Equal(4m, hold.Lease.CeilingUsd);
        await r.Leases.RefreshAsync(Month);
        Assert.Equal(0m, r.Ledger.Reports[^1].NeedUsd);
    }

    [Fact]
    public async Task A_grant_that_never_makes_room_ends_the_attempt_after_1000_renewals()
    {
        var r = new Replica();
        r.Ledger.ValidFor = TimeSpan.Zero; // each grant is stale when it arrives
        r.Ledger.MaxCalls = 1000;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => r.ReserveAsync(1m));

        Assert.Equal($"The {Month} lease could not make room for $1 in 1000 renewals.", error.Message);
        Assert.Equal(1000, r.Ledger.Reports.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_refused_renewal_says_whether_the_month_or_the_day_ran_out_and_what_is_left_still_serves(bool daily)
    {
        // November 2026 has 30 days: $30 paced at 1× allows $1 a day; $1 unpaced is the whole month.
        var r = new Replica(limit: daily ? 30m : 1m);
        r.Ledger.State.DailyPacingFactor = daily ? 1m : 0m;

        var error = await Assert.ThrowsAsync<BudgetExhaustedException>(() => r.ReserveAsync(2m));
        var fits = await r.ReserveAsync(0.5m);

        Assert.Equal(daily, error.DailyCap);
        Assert.Equal(Month, error.Month);
        Assert.Equal(1m, fits.Lease.CeilingUsd);
        Assert.Single(r.Ledger.Reports);
    }

    [Fact]
    public async Task Each_report_asks_for_two_seconds_of_the_smoothed_reservation_rate()
    {
        var r = new Replica();
        var holds = new List<BudgetHold>();
        for (var i = 0; i < 10; i++)
        {
            holds.Add(await r.ReserveAsync(1m));
        }

        await r.StartAsync();
        await r.TickAsync();
        var first = r.Ledger.Reports[^1].WantUsd;
        await r.TickAsync();
        var second = r.Ledger.Reports[^1].WantUsd;

        // $10 in 250 ms is $40/s; smoothed 0.3 × 40 = $12/s, then 0.7 × 12 = $8.40/s with nothing new. Both above 4 × $1.
        Assert.Equal(24m, first, 6);
        Assert.Equal(16.8m, second, 6);
        holds.ForEach(h => BudgetLeases.Settle(h, 0m));
        await r.Leases.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_lease_idle_for_more_than_thirty_seconds_is_returned_with_its_charges_and_then_forgotten()
    {
        var r = new Replica();
        var hold = await r.ReserveAsync(1m);
        BudgetLeases.Settle(hold, 0.5m);
        var lease = hold.Lease.LeaseId!;
        await r.StartAsync();

        for (var tick = 1; tick <= 120; tick++)
        {
            await r.TickAsync();
        }

        // Idle for exactly 30 s: still reported and kept, with its charges.
        Assert.Contains(lease, r.Ledger.State.Leases.Keys);
        Assert.DoesNotContain(r.Ledger.Reports, x => x.Release);
        Assert.Equal(0.5m, r.Ledger.State.SpentUsd);

        await r.TickAsync();

        var release = Assert.Single(r.Ledger.Reports, x => x.Release);
        Assert.Equal((lease, 0.5m, 0m), (release.LeaseId, release.ChargedUsd, release.InFlightUsd));
        Assert.Empty(r.Ledger.State.Leases);

        // A stop has nothing left to return: the released lease is not reported again.
        await r.Leases.StopAsync(CancellationToken.None);
        Assert.Single(r.Ledger.Reports, x => x.LeaseId == lease && x.Release);
        Assert.Equal(0.5m, r.Ledger.State.SpentUsd);
        Assert.Empty(r.Monitor.Latest!.Leases);
    }

    [Fact]
    public async Task An_idle_lease_with_an_attempt_in_flight_is_kept()
    {
        var r = new Replica();
        var hold = await r.ReserveAsync(1m);
        await r.StartAsync();

        r.Clock.Advance(TimeSpan.FromSeconds(31));
        await r.Ledger.WaitForReportsAsync(2);
        await r.TickAsync();
        BudgetLeases.Settle(hold, 0.5m);
        await r.Leases.StopAsync(CancellationToken.None);

        // Only the stop returned it, once, with the settled cost.
        var release = Assert.Single(r.Ledger.Reports, x => x.Release);
        Assert.Equal((hold.Lease.LeaseId, 0.5m, 0m), (release.LeaseId, release.ChargedUsd, release.InFlightUsd));
        Assert.Equal(0.5m, r.Ledger.State.SpentUsd);
    }

    [Fact]
    public async Task A_failed_report_is_logged_and_the_next_period_reports_again()
    {
        var r = new Replica();
        var failures = 0;
        r.Ledger.Fault = report => report.NeedUsd == 0 && Interlocked.Increment(ref failures) == 1 ? new InvalidOperationException("storage is down") : null;
        var hold = await r.ReserveAsync(1m);
        BudgetLeases.Settle(hold, 0.5m);
        await r.StartAsync();

        r.Clock.Advance(BudgetLeases.ReportPeriod);
        await r.Ledger.WaitUntilAsync(() => r.Ledger.Calls == 2, "the failed report");
        await r.TickAsync();

        Assert.Equal(0.5m, r.Ledger.State.SpentUsd);
        await r.Leases.StopAsync(CancellationToken.None);
        var warning = Assert.Single(r.Log.Collector.GetSnapshot(), x => x.Exception is not null);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal("storage is down", warning.Exception!.Message);
        Assert.Contains($"Budget {Month}: reporting the lease failed", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lease_the_ledger_closed_is_replaced_and_still_reports_its_attempts_until_they_settle()
    {
        var r = new Replica();
        var (first, closed) = await OpenAndCloseAsync(r);

        var second = await r.ReserveAsync(1m);

        Assert.NotNull(second.Lease.LeaseId);
        Assert.NotEqual(closed, second.Lease.LeaseId);
        Assert.True(first.Lease.Closed);
        Assert.Contains(r.Log.Collector.GetSnapshot(), x => x.Level == LogLevel.Warning && x.Message == $"Budget {Month}: lease {closed} was closed by the ledger; opening a new one");
        // The ledger charged the closed lease's worst case in flight ($1) until it hears how it settled.
        Assert.Equal(1m, r.Ledger.State.SpentUsd);

        await r.StartAsync();
        await r.TickAsync(reports: 2); // the new lease's report, and the closed one's with $1 still in flight
        BudgetLeases.Settle(first, 0.6m);
        BudgetLeases.Settle(second, 0.2m);
        await r.TickAsync(reports: 2);
        await r.Leases.StopAsync(CancellationToken.None);

        Assert.Equal(0.8m, r.Ledger.State.SpentUsd);
        Assert.Empty(r.Ledger.State.Leases);
        Assert.Empty(r.Ledger.State.Closed);
    }

    [Fact]
    public async Task Stopping_returns_the_lease_with_its_final_charges_at_once_when_nothing_is_in_flight()
    {
        var r = new Replica();
        var hold = await r.ReserveAsync(1m);
        BudgetLeases.Settle(hold, 0.3m);
        var started = r.Clock.GetUtcNow();

        await r.Leases.StoppingAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(started, r.Clock.GetUtcNow());
        var release = r.Ledger.Reports[^1];
        Assert.True(release.Release);
        Assert.Equal((hold.Lease.LeaseId, 0.3m, 0m), (release.LeaseId, release.ChargedUsd, release.InFlightUsd));
        Assert.Equal(0.3m, r.Ledger.State.SpentUsd);
        Assert.Empty(r.Ledger.State.Leases);
    }

    [Fact]
    public async Task Stopping_waits_for_attempts_in_flight_to_settle()
    {
        var r = new Replica();
        var hold = await r.ReserveAsync(1m);

        var stop = r.Leases.StoppingAsync(CancellationToken.None);
        Assert.False(stop.IsCompleted);
        BudgetLeases.Settle(hold, 0.4m);
        r.Clock.Advance(TimeSpan.FromMilliseconds(50));
        await stop.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(0.4m, r.Ledger.State.SpentUsd);
        Assert.Empty(r.Ledger.State.Leases);
        Assert.Empty(r.Ledger.State.Closed);
    }

    [Fact]
    public async Task Stopping_waits_five_seconds_at_most_and_a_later_report_corrects_the_worst_case_charged()
    {
        var r = new Replica();
        var hold = await r.ReserveAsync(1m);
        var started = r.Clock.GetUtcNow();

        await r.StepUntilAsync(r.Leases.StoppingAsync(CancellationToken.None), TimeSpan.FromMilliseconds(50));

        Assert.Equal(TimeSpan.FromSeconds(5), r.Clock.GetUtcNow() - started);
        Assert.Empty(r.Ledger.State.Leases);
        Assert.Equal(1m, r.Ledger.State.SpentUsd); // returned with $1 in flight: charged in full for now
        Assert.Contains(hold.Lease.LeaseId!, r.Ledger.State.Closed.Keys);

        BudgetLeases.Settle(hold, 0.25m);
        await r.Leases.StoppingAsync(CancellationToken.None);

        Assert.Equal(0.25m, r.Ledger.State.SpentUsd);
        Assert.Empty(r.Ledger.State.Closed);
    }

    [Fact]
    public async Task A_cancelled_stop_does_not_wait_for_attempts_in_flight()
    {
        var r = new Replica();
        await r.ReserveAsync(1m);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await r.Leases.StoppingAsync(cancelled.Token).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Empty(r.Ledger.State.Leases);
        Assert.Equal(1m, r.Ledger.State.SpentUsd);
    }

    [Fact]
    public async Task Stopping_waits_for_an_attempt_on_a_lease_the_ledger_closed()
    {
        var r = new Replica();
        var (first, _) = await OpenAndCloseAsync(r);

        var stop = r.Leases.StoppingAsync(CancellationToken.None);
        Assert.False(stop.IsCompleted);
        BudgetLeases.Settle(first, 0.6m);
        r.Clock.Advance(TimeSpan.FromMilliseconds(50));
        await stop.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(0.6m, r.Ledger.State.SpentUsd);
        Assert.Empty(r.Ledger.State.Leases);
        Assert.Empty(r.Ledger.State.Closed);
    }

    [Fact]
    public async Task A_lease_being_returned_takes_no_new_attempt()
    {
        var r = new Replica();
        var first = await r.ReserveAsync(1m);
        BudgetLeases.Settle(first, 0.5m);
        var returning = first.Lease.LeaseId;
        Task? stop = null;
        r.Ledger.HoldAnswers();

        // The stop begins after the attempt has taken the current lease and before it reserves on it
        // (its reservation reads the clock), and its release waits at the ledger.
        r.Clock.OnNextRead(() => stop = r.Leases.StoppingAsync(CancellationToken.None));
        var attempt = r.ReserveAsync(1m);
        r.Ledger.ReleaseAnswers();
        await stop!.WaitAsync(TimeSpan.FromSeconds(5));
        var hold = await attempt.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.NotEqual(returning, hold.Lease.LeaseId);
        var release = Assert.Single(r.Ledger.Reports, x => x.Release);
        Assert.Equal((returning, 0.5m, 0m), (release.LeaseId, release.ChargedUsd, release.InFlightUsd));
    }

    [Fact]
    public async Task A_stop_ends_the_report_loop_and_returns_a_lease_a_last_request_opened_after_stopping_began()
    {
        var r = new Replica();
        await r.StartAsync();
        await r.Leases.StoppingAsync(CancellationToken.None);
        var hold = await r.ReserveAsync(1m);
        BudgetLeases.Settle(hold, 0.3m);

        await r.Leases.StopAsync(CancellationToken.None);

        Assert.True(r.Leases.ExecuteTask!.IsCompleted);
        Assert.True(r.Ledger.Reports[^1].Release);
        Assert.Empty(r.Ledger.State.Leases);
        Assert.Equal(0.3m, r.Ledger.State.SpentUsd);
    }

    [Fact]
    public async Task A_lease_that_cannot_be_returned_on_stop_is_logged_and_the_other_months_are_still_returned()
    {
        var r = new Replica();
        var november = await r.Leases.ReserveAsync(Month, 1m, CancellationToken.None);
        var december = await r.Leases.ReserveAsync("2026-12", 1m, CancellationToken.None);
        BudgetLeases.Settle(november, 0.1m);
        BudgetLeases.Settle(december, 0.2m);
        r.Ledger.Fault = report => report.LeaseId == november.Lease.LeaseId ? new InvalidOperationException("silo unreachable") : null;

        await r.Leases.StoppingAsync(CancellationToken.None);

        // November's lease stays open (the ledger charges it at expiry); December's is returned.
        Assert.Equal(november.Lease.LeaseId, Assert.Single(r.Ledger.State.Leases.Keys));
        var warning = Assert.Single(r.Log.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal("silo unreachable", warning.Exception!.Message);
        Assert.Equal($"Budget {Month}: returning the lease on shutdown failed; the ledger charges it at expiry", warning.Message);
    }

    /// <summary>Reserves $1 on a lease, lets the ledger expire it, and has the next report learn that it is closed.</summary>
    private static async Task<(BudgetHold Hold, string Closed)> OpenAndCloseAsync(Replica r)
    {
        var hold = await r.ReserveAsync(1m);
        Assert.Equal(1, r.Ledger.ExpireAll());
        await r.Leases.RefreshAsync(Month);
        return (hold, hold.Lease.LeaseId!);
    }

    /// <summary>One replica's leases on a fake clock, against an in-memory ledger on the same clock.</summary>
    private sealed class Replica
    {
        public Replica(decimal limit = 100m)
        {
            Ledger = new LedgerGrain(limit, Clock);
            Leases = new BudgetLeases(TestDoubles.Grains(Ledger), Monitor, Clock, Log);
        }

        public Clock Clock { get; } = new();

        public LedgerGrain Ledger { get; }

        public BudgetMonitor Monitor { get; } = new(TestDoubles.Meters());

        public FakeLogger<BudgetLeases> Log { get; } = new();

        public BudgetLeases Leases { get; }

        public Task<BudgetHold> ReserveAsync(decimal amountUsd) => Leases.ReserveAsync(Month, amountUsd, CancellationToken.None).AsTask();

        /// <summary>Moves the clock one report period and waits for that period's reports to reach the ledger.</summary>
        public async Task TickAsync(int reports = 1)
        {
            var before = Ledger.Reports.Count;
            Clock.Advance(BudgetLeases.ReportPeriod);
            await Ledger.WaitForReportsAsync(before + reports);
        }

        /// <summary>Starts the report loop and waits until its timer is on the clock (ExecuteAsync runs on the thread pool).</summary>
        public async Task StartAsync()
        {
            var timers = Clock.Timers;
            await Leases.StartAsync(CancellationToken.None);
            await UntilAsync(() => Clock.Timers > timers, "the report loop's timer");
        }

        /// <summary>Moves the clock by <paramref name="step"/> each time <paramref name="task"/> has started a new wait on it, until it completes.</summary>
        public async Task StepUntilAsync(Task task, TimeSpan step)
        {
            while (!task.IsCompleted)
            {
                var timers = Clock.Timers;
                Clock.Advance(step);
                await UntilAsync(() => task.IsCompleted || Clock.Timers > timers, "the task to complete or wait on the clock again");
            }

            await task;
        }

        private static async Task UntilAsync(Func<bool> condition, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!condition())
            {
                Assert.True(DateTime.UtcNow < deadline, $"Waited 10 s for {what}.");
                await Task.Delay(1);
            }
        }
    }

    /// <summary>
    /// A fake clock that counts the timers created on it, so a test knows when a wait on it has begun, and
    /// can run an action at its next reading, to start something at an exact point of the code under test.
    /// </summary>
    private sealed class Clock() : FakeTimeProvider(new DateTimeOffset(2026, 11, 10, 12, 0, 0, TimeSpan.Zero))
    {
        private int _timers;
        private Action? _onNextRead;

        public int Timers => Volatile.Read(ref _timers);

        public void OnNextRead(Action action) => _onNextRead = action;

        public override DateTimeOffset GetUtcNow()
        {
            Interlocked.Exchange(ref _onNextRead, null)?.Invoke();
            return base.GetUtcNow();
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _timers);
            return timer;
        }
    }
}
