using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Navigator.Grains.Seed;

namespace Navigator.Grains.Budget;

/// <summary>
/// The month's ledger: the single authority that leases slices of the budget to API replicas.
/// <para>
/// <b>Group commit.</b> A lease that grows is answered only once the ledger holding it is durable,
/// but one storage write per call would cap throughput at the storage latency. The grain is
/// therefore reentrant: each call checks and changes the in-memory ledger synchronously (so the
/// invariant is checked atomically, as Orleans runs one turn at a time), then waits for the next
/// storage write. One writer loop writes a snapshot of the ledger taken between turns; every call
/// whose change that snapshot holds is then answered together. Reports that only move charges are
/// written the same way but answered at once: the lease still sets their money aside, and the
/// replica's next report carries the same cumulative totals. If a write fails, all waiting calls
/// fail and the grain deactivates, so the next call reloads the last durable ledger.
/// </para>
/// <para>
/// <b>Expiry.</b> A timer (and a reminder, durable across restarts, while leases are open) closes
/// leases whose replica stopped reporting, and charges what they set aside but never reported.
/// </para>
/// </summary>
[Reentrant]
public sealed partial class BudgetGrain(
    [PersistentState("budget", "ledger")] IPersistentState<BudgetState> state,
    ISeedSource seed,
    BudgetMetrics metrics,
    IOptions<BudgetLeaseOptions> options,
    [FromKeyedServices(LedgerClock.Key)] TimeProvider time,
    ILogger<BudgetGrain> logger) : Grain, IBudgetGrain, IRemindable
{
    private const string ExpiryReminder = "expire-leases";
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReminderPeriod = TimeSpan.FromMinutes(1);

    private BudgetState _ledger = new();
    private TaskCompletionSource? _nextCommit;
    private int _pendingChanges;
    private bool _writerRunning;
    private bool _faulted;
    private bool _reminderRegistered;

    private string Month => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!state.RecordExists)
        {
            var policy = seed.LoadBudgetPolicy();
            state.State.LimitUsd = policy.MonthlyLimitUsd;
            state.State.DailyPacingFactor = policy.DailyPacingFactor;
            state.State.AlertThresholds = [.. policy.Thresholds];
            await state.WriteStateAsync(cancellationToken);
        }

        _ledger = state.State.Clone();
        this.RegisterGrainTimer(SweepAsync, new GrainTimerCreationOptions(SweepPeriod, SweepPeriod) { Interleave = true });
    }

    public async Task<LeaseGrant> RenewLeaseAsync(LeaseReport report)
    {
        ThrowIfFaulted();
        var now = time.GetUtcNow();
        var ttl = options.Value.LeaseTtl;
        var result = BudgetLedger.Renew(Month, _ledger, report, now, ttl, () => $"{report.ReplicaId}/{Guid.NewGuid():N}");
        var status = BudgetLedger.Status(Month, _ledger, now);
        if (result.Changed)
        {
            RaiseAlerts();
            var commit = CommitAsync();
            if (result.Grew)
            {
                await commit;
            }
        }

        if (_ledger.Leases.Count > 0)
        {
            await EnsureReminderAsync();
        }

        return new LeaseGrant(result.Outcome, result.LeaseId, result.CeilingUsd, ttl, status);
    }

    public Task<BudgetStatus> GetStatusAsync()
    {
        ThrowIfFaulted(); // a failed write left the ledger ahead of storage until the activation goes
        return Task.FromResult(BudgetLedger.Status(Month, _ledger, time.GetUtcNow()));
    }

    public async Task<BudgetStatus> SetLimitAsync(decimal limitUsd, decimal? dailyPacingFactor, string actor)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limitUsd);
        ThrowIfFaulted();
        var now = time.GetUtcNow();
        BudgetLedger.AddAudit(_ledger, new BudgetAuditEntry(now, actor, "set-limit", _ledger.LimitUsd, limitUsd));
        _ledger.LimitUsd = limitUsd;
        if (dailyPacingFactor is { } factor)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(factor);
            BudgetLedger.AddAudit(_ledger, new BudgetAuditEntry(now, actor, "set-pacing", _ledger.DailyPacingFactor, factor));
            _ledger.DailyPacingFactor = factor;
        }

        RaiseAlerts();
        await CommitAsync();
        LogLimitChanged(Month, limitUsd, actor);
        return BudgetLedger.Status(Month, _ledger, now);
    }

    public Task<IReadOnlyList<BudgetAuditEntry>> GetAuditAsync()
    {
        ThrowIfFaulted();
        return Task.FromResult<IReadOnlyList<BudgetAuditEntry>>([.. _ledger.Audit]);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        await SweepAsync(CancellationToken.None);
        if (_ledger.Leases.Count == 0 && _reminderRegistered)
        {
            // Nothing left to expire: stop waking the grain until the next lease. The flag is
            // cleared first, so a lease that opens meanwhile (the grain is reentrant) registers again.
            _reminderRegistered = false;
            var reminder = await this.GetReminder(ExpiryReminder);
            if (reminder is not null)
            {
                await this.UnregisterReminder(reminder);
            }

            if (_ledger.Leases.Count > 0)
            {
                // A lease opened meanwhile may have been removed by the call above: register again.
                _reminderRegistered = false;
                await EnsureReminderAsync();
            }
        }
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        if (_faulted)
        {
            return;
        }

        var expired = BudgetLedger.ExpireDue(_ledger, time.GetUtcNow());
        if (expired > 0)
        {
            metrics.Expired(expired);
            LogExpired(Month, expired);
            RaiseAlerts();
            await CommitAsync();
        }
    }

    private async Task EnsureReminderAsync()
    {
        if (!_reminderRegistered)
        {
            _reminderRegistered = true;
            await this.RegisterOrUpdateReminder(ExpiryReminder, ReminderPeriod, ReminderPeriod);
        }
    }

    /// <summary>Waits until a storage write that includes the caller's change has completed.</summary>
    private Task CommitAsync()
    {
        _nextCommit ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pendingChanges++;
        var mine = _nextCommit.Task;
        if (!_writerRunning)
        {
            _writerRunning = true;
            _ = WriteLoopAsync();
        }

        return mine;
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (_nextCommit is { } batch)
            {
                var size = _pendingChanges;
                _nextCommit = null;
                _pendingChanges = 0;
                // Snapshot between turns: later calls change _ledger, never the state being written.
                state.State = _ledger.Clone();
                try
                {
                    await state.WriteStateAsync();
                }
                catch (Exception ex)
                {
                    _faulted = true;
                    LogWriteFailed(ex, Month, size);
                    batch.TrySetException(ex);
                    _nextCommit?.TrySetException(ex);
                    _nextCommit = null;
                    DeactivateOnIdle();
                    return;
                }

                metrics.Committed(size);
                batch.TrySetResult();
            }
        }
        finally
        {
            _writerRunning = false;
        }
    }

    private void RaiseAlerts()
    {
        foreach (var threshold in BudgetLedger.NewAlerts(_ledger))
        {
            metrics.Alert(Month, threshold);
            LogAlert(Month, threshold * 100, _ledger.SpentUsd, _ledger.LimitUsd);
        }
    }

    private void ThrowIfFaulted()
    {
        if (_faulted)
        {
            throw new InvalidOperationException($"The {Month} ledger failed to persist and is reloading; retry.");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget {Month}: {Count} leases expired without a final report; what they set aside was charged")]
    private partial void LogExpired(string month, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "BUDGET ALERT {Month}: {Percent}% of the monthly limit spent (${Spent} of ${Limit})")]
    private partial void LogAlert(string month, decimal percent, decimal spent, decimal limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Budget {Month}: limit set to ${Limit} by {Actor}")]
    private partial void LogLimitChanged(string month, decimal limit, string actor);

    [LoggerMessage(Level = LogLevel.Error, Message = "Budget {Month}: writing {Count} ledger changes failed; the grain will reload")]
    private partial void LogWriteFailed(Exception exception, string month, int count);
}
