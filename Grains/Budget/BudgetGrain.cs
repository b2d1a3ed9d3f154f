using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Navigator.Grains.Seed;

namespace Navigator.Grains.Budget;

/// <summary>
/// The month's ledger.
/// <para>
/// <b>Group commit.</b> A reservation is acknowledged only after the ledger holding it is durable,
/// but one storage write per call would cap throughput at the storage latency. The grain is
/// therefore reentrant: each call checks and changes the in-memory ledger synchronously (so the
/// invariant is checked atomically, as Orleans runs one turn at a time), then waits for the next
/// storage write. One writer loop writes a snapshot of the ledger taken between turns; every call
/// whose change that snapshot holds is then acknowledged together. If a write fails, all waiting
/// calls fail and the grain deactivates, so the next call reloads the last durable ledger.
/// </para>
/// <para>
/// <b>Expiry.</b> A reminder (durable across restarts) and a timer sweep reservations whose caller
/// never settled and charge them in full.
/// </para>
/// </summary>
[Reentrant]
public sealed partial class BudgetGrain(
    [PersistentState("budget", "ledger")] IPersistentState<BudgetState> state,
    ISeedSource seed,
    BudgetMetrics metrics,
    TimeProvider time,
    ILogger<BudgetGrain> logger) : Grain, IBudgetGrain, IRemindable
{
    private const string ExpiryReminder = "expire-reservations";
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

    public async Task<ReservationResult> ReserveAsync(string reservationId, decimal amountUsd, TimeSpan ttl)
    {
        ThrowIfFaulted();
        // Expiry is left to the 1 s sweep: scanning the ledger on every reservation would make the hot path O(ledger size).
        var now = time.GetUtcNow();
        var outcome = BudgetLedger.TryReserve(Month, _ledger, reservationId, amountUsd, now, now + ttl);
        var status = BudgetLedger.Status(Month, _ledger, now);
        if (outcome == ReservationOutcome.Granted)
        {
            await CommitAsync();
            await EnsureReminderAsync();
        }

        return new ReservationResult(outcome, status);
    }

    public async Task<SettlementResult> SettleAsync(string reservationId, decimal actualCostUsd)
    {
        ThrowIfFaulted();
        var now = time.GetUtcNow();
        var outcome = BudgetLedger.Settle(_ledger, reservationId, actualCostUsd, now);
        var status = BudgetLedger.Status(Month, _ledger, now);
        if (outcome is SettlementOutcome.Settled or SettlementOutcome.SettledAfterExpiry)
        {
            RaiseAlerts();
            await CommitAsync();
        }

        return new SettlementResult(outcome, status);
    }

    public Task<BudgetStatus> GetStatusAsync() => Task.FromResult(BudgetLedger.Status(Month, _ledger, time.GetUtcNow()));

    public async Task<BudgetStatus> SetLimitAsync(decimal limitUsd, decimal? dailyPacingFactor, string actor)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limitUsd);
        ThrowIfFaulted();
        var now = time.GetUtcNow();
        _ledger.Audit.Add(new BudgetAuditEntry(now, actor, "set-limit", _ledger.LimitUsd, limitUsd));
        _ledger.LimitUsd = limitUsd;
        if (dailyPacingFactor is { } factor)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(factor);
            _ledger.Audit.Add(new BudgetAuditEntry(now, actor, "set-pacing", _ledger.DailyPacingFactor, factor));
            _ledger.DailyPacingFactor = factor;
        }

        RaiseAlerts();
        await CommitAsync();
        LogLimitChanged(Month, limitUsd, actor);
        return BudgetLedger.Status(Month, _ledger, now);
    }

    public Task<IReadOnlyList<BudgetAuditEntry>> GetAuditAsync() => Task.FromResult<IReadOnlyList<BudgetAuditEntry>>([.. _ledger.Audit]);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        await SweepAsync(CancellationToken.None);
        if (_ledger.Open.Count == 0 && _reminderRegistered)
        {
            // Nothing left to expire: stop waking the grain until the next reservation. The flag is
            // cleared first, so a reservation that arrives meanwhile (the grain is reentrant) registers again.
            _reminderRegistered = false;
            var reminder = await this.GetReminder(ExpiryReminder);
            if (reminder is not null)
            {
                await this.UnregisterReminder(reminder);
            }

            if (_ledger.Open.Count > 0)
            {
                // A reservation registered meanwhile may have been removed by the call above: register again.
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget {Month}: {Count} unsettled reservations expired and were charged in full")]
    private partial void LogExpired(string month, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "BUDGET ALERT {Month}: {Percent}% of the monthly limit spent (${Spent} of ${Limit})")]
    private partial void LogAlert(string month, decimal percent, decimal spent, decimal limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Budget {Month}: limit set to ${Limit} by {Actor}")]
    private partial void LogLimitChanged(string month, decimal limit, string actor);

    [LoggerMessage(Level = LogLevel.Error, Message = "Budget {Month}: writing {Count} ledger changes failed; the grain will reload")]
    private partial void LogWriteFailed(Exception exception, string month, int count);
}
