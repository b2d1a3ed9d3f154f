using System.Collections.Concurrent;
using Navigator.Grains.Budget;

namespace Navigator.Api.Pipeline;

/// <summary>An attempt's worst case, set aside on one of this replica's leases until it settles.</summary>
public readonly record struct BudgetHold(LeaseAccount Lease, decimal AmountUsd);

/// <summary>
/// This replica's budget leases, one per month. A provider attempt reserves its worst case against
/// the lease in memory and settles its real cost there: no grain call and no storage write per
/// request. Every <see cref="ReportPeriod"/> the replica reports each lease's cumulative charges to
/// the month's <see cref="IBudgetGrain"/>, which renews, grows or shrinks it. A request waits for the
/// grain only when its lease has no room left (the first request, a burst, or near the cap, where
/// leases shrink to exactly what is needed). On a graceful stop the replica reports and returns its
/// leases.
/// </summary>
public sealed partial class BudgetLeases(IGrainFactory grains, BudgetMonitor monitor, TimeProvider time, ILogger<BudgetLeases> logger)
    : BackgroundService, IHostedLifecycleService
{
    public static readonly TimeSpan ReportPeriod = TimeSpan.FromMilliseconds(250);

    /// <summary>A lease with no reservation for this long is returned to the month.</summary>
    public static readonly TimeSpan IdleRelease = TimeSpan.FromSeconds(30);

    /// <summary>How much recent spend a lease should hold, at the current rate.</summary>
    public static readonly TimeSpan LeaseSpan = TimeSpan.FromSeconds(2);

    /// <summary>A lease holds at least this many of the largest recent worst cases.</summary>
    public const int MinimumWorstCases = 4;

    private const int MaxRenewals = 1000;

    private readonly ConcurrentDictionary<string, MonthLeases> _months = new(StringComparer.Ordinal);

    /// <summary>This replica's name in the month's ledger.</summary>
    public string ReplicaId { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>Sets an attempt's worst case aside; waits for the grain only when the lease has no room.</summary>
    public async ValueTask<BudgetHold> ReserveAsync(string month, decimal amountUsd, CancellationToken cancellationToken)
    {
        var leases = _months.GetOrAdd(month, m => new MonthLeases(m));
        leases.Saw(amountUsd);
        var current = leases.Current;
        if (current.TryReserve(amountUsd, time.GetUtcNow()))
        {
            return new BudgetHold(current, amountUsd);
        }

        leases.Waiting(amountUsd);
        try
        {
            for (var renewal = 1; ; renewal++)
            {
                // One renewal at a time per month, asking for what every waiting attempt needs; waiters
                // share it. It is not cancelled with the request, so its grant is never lost.
                LeaseGrant grant;
                try
                {
                    grant = await RenewAsync(leases, amountUsd).WaitAsync(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // The ledger (its grain, or the storage it writes before it grants) did not answer within the attempt's
                    // time: the cluster's failure, never the provider's. 503 with Retry-After; nothing was reserved or sent.
                    throw new TimeoutException($"The {month} budget ledger did not answer in time; nothing was charged.");
                }

                current = leases.Current;
                if (current.TryReserve(amountUsd, time.GetUtcNow()))
                {
                    return new BudgetHold(current, amountUsd);
                }

                if (grant.Outcome is LeaseOutcome.LimitExceeded or LeaseOutcome.DailyCapExceeded)
                {
                    throw new BudgetExhaustedException(month, amountUsd, grant.Status.RemainingUsd,
                        dailyCap: grant.Outcome == LeaseOutcome.DailyCapExceeded);
                }

                // Granted, but other attempts took the room first: renew again (the deadline bounds this).
                if (renewal == MaxRenewals)
                {
                    throw new InvalidOperationException($"The {month} lease could not make room for ${amountUsd} in {MaxRenewals} renewals.");
                }
            }
        }
        finally
        {
            leases.Waiting(-amountUsd);
        }
    }

    /// <summary>Gives the unused part of the hold back to the lease and charges the real cost. Never fails, never waits.</summary>
    public static void Settle(BudgetHold hold, decimal actualUsd) => hold.Lease.Settle(hold.AmountUsd, actualUsd);

    /// <summary>Reports this replica's lease for the month now, so it takes in a limit change at once.</summary>
    public async Task RefreshAsync(string month)
    {
        if (_months.TryGetValue(month, out var leases))
        {
            await RenewAsync(leases, 0m);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ReportPeriod, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var leases in _months.Values)
            {
                try
                {
                    await ReportAsync(leases);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // The lease stays usable until its own validity runs out; the next report retries.
                    LogReportFailed(ex, leases.Month);
                }
            }
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Returns the leases while the Orleans client is still connected: the stopping phase runs before
    /// any hosted service (the client among them) stops.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        foreach (var leases in _months.Values)
        {
            try
            {
                // Let attempts in flight settle, then report the final charges and return the rest.
                var drained = time.GetUtcNow() + TimeSpan.FromSeconds(5);
                while (leases.All.Any(a => a.InFlightUsd > 0) && time.GetUtcNow() < drained && !cancellationToken.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), time, CancellationToken.None);
                }

                leases.Retire();
                await ReportAsync(leases);
            }
            catch (Exception ex)
            {
                // The grain expires the lease and charges what was never reported.
                LogReleaseFailed(ex, leases.Month);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await StoppingAsync(cancellationToken); // anything a last request opened since
    }

    private async Task ReportAsync(MonthLeases leases)
    {
        leases.Tick(ReportPeriod);
        var current = leases.Current;
        if (current.LeaseId is not null)
        {
            if (time.GetUtcNow() - current.LastUsed > IdleRelease && current.InFlightUsd == 0)
            {
                leases.Retire();
            }
            else
            {
                await RenewAsync(leases, 0m);
            }
        }

        foreach (var retiring in leases.Retiring)
        {
            var sentAt = time.GetUtcNow();
            var grant = await grains.GetGrain<IBudgetGrain>(leases.Month)
                .RenewLeaseAsync(retiring.NextReport(ReplicaId, 0m, 0m, release: true));
            retiring.Apply(grant, sentAt);
            monitor.Observe(grant.Status);
            if (retiring.InFlightUsd == 0 && !retiring.HasNews)
            {
                leases.Forget(retiring);
            }
        }
    }

    private Task<LeaseGrant> RenewAsync(MonthLeases leases, decimal needUsd)
    {
        lock (leases)
        {
            if (leases.Renewal is { IsCompleted: false } running)
            {
                return running;
            }

            return leases.Renewal = SendAsync(leases, Math.Max(needUsd, leases.WaitingUsd));
        }
    }

    private async Task<LeaseGrant> SendAsync(MonthLeases leases, decimal needUsd)
    {
        while (true)
        {
            var account = leases.Current;
            var sentAt = time.GetUtcNow();
            var grant = await grains.GetGrain<IBudgetGrain>(leases.Month)
                .RenewLeaseAsync(account.NextReport(ReplicaId, needUsd, leases.WantUsd, release: false));
            account.Apply(grant, sentAt);
            monitor.Observe(grant.Status);
            if (grant.Outcome != LeaseOutcome.Closed)
            {
                return grant;
            }

            // The grain closed the lease (it expired while reports failed): keep reporting its
            // attempts in flight, and open a new lease in its place.
            LogLeaseClosed(leases.Month, account.LeaseId);
            leases.Retire();
        }
    }

    /// <summary>One month's leases on this replica: the current one, and closed ones whose attempts are still settling.</summary>
    private sealed class MonthLeases(string month)
    {
        private readonly Lock _gate = new();
        private readonly List<LeaseAccount> _retiring = [];
        private decimal _sinceTick;
        private decimal _waiting;
        private decimal _largest;
        private double _ratePerSecond;

        public string Month { get; } = month;

        public LeaseAccount Current { get; private set; } = new();

        public Task<LeaseGrant>? Renewal { get; set; }

        public IReadOnlyList<LeaseAccount> Retiring
        {
            get { lock (_gate) { return [.. _retiring]; } }
        }

        public IEnumerable<LeaseAccount> All => Retiring.Prepend(Current);

        /// <summary>Headroom to ask for: about <see cref="LeaseSpan"/> of recent worst cases, at least a few of the largest.</summary>
        public decimal WantUsd
        {
            get
            {
                lock (_gate)
                {
                    return Math.Max(_largest * MinimumWorstCases, (decimal)_ratePerSecond * (decimal)LeaseSpan.TotalSeconds);
                }
            }
        }

        /// <summary>What attempts waiting for a renewal need in all.</summary>
        public decimal WaitingUsd
        {
            get { lock (_gate) { return _waiting; } }
        }

        public void Waiting(decimal amountUsd)
        {
            lock (_gate)
            {
                _waiting += amountUsd;
            }
        }

        public void Saw(decimal amountUsd)
        {
            lock (_gate)
            {
                _sinceTick += amountUsd;
                _largest = Math.Max(_largest, amountUsd);
            }
        }

        /// <summary>Folds the last period's reservations into the smoothed rate.</summary>
        public void Tick(TimeSpan period)
        {
            lock (_gate)
            {
                var instant = (double)_sinceTick / period.TotalSeconds;
                _ratePerSecond = _ratePerSecond * 0.7 + instant * 0.3;
                _sinceTick = 0;
            }
        }

        /// <summary>Stops new attempts on the current lease; it is released once its attempts have settled.</summary>
        public void Retire()
        {
            lock (_gate)
            {
                Current.Seal();
                if (Current.LeaseId is not null)
                {
                    _retiring.Add(Current);
                }

                Current = new LeaseAccount();
            }
        }

        public void Forget(LeaseAccount account)
        {
            lock (_gate)
            {
                _retiring.Remove(account);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget {Month}: reporting the lease failed; it stays usable until its validity runs out")]
    private partial void LogReportFailed(Exception exception, string month);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget {Month}: returning the lease on shutdown failed; the ledger charges it at expiry")]
    private partial void LogReleaseFailed(Exception exception, string month);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget {Month}: lease {LeaseId} was closed by the ledger; opening a new one")]
    private partial void LogLeaseClosed(string month, string? leaseId);
}
