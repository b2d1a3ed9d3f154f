using Navigator.Grains.Budget;

namespace Navigator.UnitTests;

/// <summary>
/// A month's ledger in memory: <see cref="BudgetLedger"/>, the grain's own arithmetic, without storage.
/// It keeps every report it applied, and a test can hold its answers back, make it fail, or expire
/// its leases as if their replicas had stopped reporting.
/// </summary>
public sealed class LedgerGrain(decimal limit, TimeProvider? time = null) : IBudgetGrain
{
    public const string Month = "2026-11";

    /// <summary>How long the ledger keeps a lease after a report, as the grain does.</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(15);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private readonly List<LeaseReport> _reports = [];
    private TaskCompletionSource _called = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? _held;
    private int _calls;

    public BudgetState State { get; } = new() { LimitUsd = limit };

    /// <summary>The validity the grants announce; a replica uses a lease for two thirds of it.</summary>
    public TimeSpan ValidFor { get; set; } = Ttl;

    /// <summary>
    /// Calls past this many fail: a renewal loop that never ends then fails its test at once instead of
    /// hanging it while the list of reports grows.
    /// </summary>
    public int MaxCalls { get; set; } = 5000;

    /// <summary>When set, a report it returns an exception for fails with it, and changes nothing.</summary>
    public Func<LeaseReport, Exception?>? Fault { get; set; }

    /// <summary>Every report the ledger applied, in order.</summary>
    public IReadOnlyList<LeaseReport> Reports
    {
        get { lock (_gate) { return [.. _reports]; } }
    }

    /// <summary>Every call, applied or failed.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>From now on, calls wait for <see cref="ReleaseAnswers"/> before the ledger applies them.</summary>
    public void HoldAnswers()
    {
        lock (_gate)
        {
            _held ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void ReleaseAnswers()
    {
        TaskCompletionSource? held;
        lock (_gate)
        {
            held = _held;
            _held = null;
        }

        held?.SetResult();
    }

    /// <summary>Closes every open lease, charging what it never reported, as the grain does when reports stop for a TTL.</summary>
    public int ExpireAll()
    {
        lock (_gate)
        {
            return BudgetLedger.ExpireDue(State, _time.GetUtcNow() + Ttl);
        }
    }

    /// <summary>Waits (up to 10 s of real time) until the ledger has applied <paramref name="count"/> reports in all.</summary>
    public Task WaitForReportsAsync(int count) => WaitUntilAsync(() => Reports.Count >= count, $"{count} reports");

    /// <summary>Waits (up to 10 s of real time) until <paramref name="condition"/> holds; it is checked after each call to the ledger.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            Task next;
            lock (_gate)
            {
                next = _called.Task;
            }

            if (condition())
            {
                return;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(next, Task.Delay(left)) != next)
            {
                throw new TimeoutException($"The ledger saw no {what} within 10 s ({Reports.Count} reports applied).");
            }
        }
    }

    public async Task<LeaseGrant> RenewLeaseAsync(LeaseReport report)
    {
        var call = Interlocked.Increment(ref _calls);
        try
        {
            if (call > MaxCalls)
            {
                throw new InvalidOperationException($"The ledger got more than {MaxCalls} calls: a renewal loop does not end.");
            }

            TaskCompletionSource? held;
            lock (_gate)
            {
                held = _held;
            }

            if (held is not null)
            {
                await held.Task;
            }

            if (Fault?.Invoke(report) is { } fault)
            {
                throw fault;
            }

            lock (_gate)
            {
                var now = _time.GetUtcNow();
                var result = BudgetLedger.Renew(Month, State, report, now, Ttl, () => Guid.NewGuid().ToString("N"));
                _reports.Add(report);
                return new LeaseGrant(result.Outcome, result.LeaseId, result.CeilingUsd, ValidFor, BudgetLedger.Status(Month, State, now));
            }
        }
        finally
        {
            TaskCompletionSource called;
            lock (_gate)
            {
                called = _called;
                _called = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            called.SetResult();
        }
    }

    public Task<BudgetStatus> GetStatusAsync()
    {
        lock (_gate)
        {
            return Task.FromResult(BudgetLedger.Status(Month, State, _time.GetUtcNow()));
        }
    }

    public Task<BudgetStatus> SetLimitAsync(decimal limitUsd, decimal? dailyPacingFactor, string actor) => throw new NotSupportedException();

    public Task<IReadOnlyList<BudgetAuditEntry>> GetAuditAsync() => throw new NotSupportedException();
}
