using Microsoft.Extensions.Logging;
using Navigator.Grains.Seed;

namespace Navigator.Grains.Budget;

/// <summary>
/// The month's ledger. Every acknowledged reservation has been written to storage first, so a crash
/// cannot forget it. A timer sweeps reservations whose caller never settled and charges them in full.
/// </summary>
public sealed partial class BudgetGrain(
    [PersistentState("budget", "ledger")] IPersistentState<BudgetState> state,
    ISeedSource seed,
    TimeProvider time,
    ILogger<BudgetGrain> logger) : Grain, IBudgetGrain
{
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromSeconds(5);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!state.RecordExists)
        {
            state.State.LimitUsd = seed.DefaultMonthlyLimitUsd;
            await state.WriteStateAsync(cancellationToken);
        }

        this.RegisterGrainTimer(SweepAsync, new GrainTimerCreationOptions(SweepPeriod, SweepPeriod) { Interleave = false });
    }

    public async Task<ReservationResult> ReserveAsync(string reservationId, decimal amountUsd, TimeSpan ttl)
    {
        var now = time.GetUtcNow();
        var expired = BudgetLedger.ExpireDue(state.State, now);
        var outcome = BudgetLedger.TryReserve(state.State, reservationId, amountUsd, now + ttl);
        if (outcome == ReservationOutcome.Granted || expired > 0)
        {
            await state.WriteStateAsync();
        }

        return new ReservationResult(outcome, Status());
    }

    public async Task<SettlementResult> SettleAsync(string reservationId, decimal actualCostUsd)
    {
        var outcome = BudgetLedger.Settle(state.State, reservationId, actualCostUsd, time.GetUtcNow());
        if (outcome is SettlementOutcome.Settled or SettlementOutcome.SettledAfterExpiry)
        {
            await state.WriteStateAsync();
        }

        return new SettlementResult(outcome, Status());
    }

    public Task<BudgetStatus> GetStatusAsync() => Task.FromResult(Status());

    public async Task<BudgetStatus> SetLimitAsync(decimal limitUsd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limitUsd);
        state.State.LimitUsd = limitUsd;
        await state.WriteStateAsync();
        return Status();
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var expired = BudgetLedger.ExpireDue(state.State, time.GetUtcNow());
        if (expired > 0)
        {
            await state.WriteStateAsync(cancellationToken);
            LogExpired(this.GetPrimaryKeyString(), expired);
        }
    }

    private BudgetStatus Status() => BudgetLedger.Status(this.GetPrimaryKeyString(), state.State);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget {Month}: {Count} unsettled reservations expired and were charged in full")]
    private partial void LogExpired(string month, int count);
}
