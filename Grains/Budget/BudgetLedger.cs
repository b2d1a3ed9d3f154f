namespace Navigator.Grains.Budget;

/// <summary>
/// The reserve-then-settle arithmetic, kept apart from the grain so it can be tested exhaustively.
/// Invariant: <c>SpentUsd + Reserved ≤ LimitUsd</c> whenever every settled cost is at most its reservation.
/// </summary>
public static class BudgetLedger
{
    /// <summary>How long a settled id is remembered, so a late duplicate settle is still a no-op.</summary>
    public static readonly TimeSpan SettledRetention = TimeSpan.FromDays(2);

    public static decimal Reserved(BudgetState state) => state.Open.Values.Sum(r => r.AmountUsd);

    public static BudgetStatus Status(string month, BudgetState state) =>
        new(month, state.LimitUsd, state.SpentUsd, Reserved(state), state.Open.Count);

    public static ReservationOutcome TryReserve(BudgetState state, string id, decimal amountUsd, DateTimeOffset expiresAt)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amountUsd);
        if (state.Open.ContainsKey(id))
        {
            return ReservationOutcome.Granted; // a retried reserve with the same id is idempotent
        }

        if (state.Settled.ContainsKey(id))
        {
            return ReservationOutcome.AlreadySettled;
        }

        if (state.SpentUsd + Reserved(state) + amountUsd > state.LimitUsd)
        {
            return ReservationOutcome.LimitExceeded;
        }

        state.Open[id] = new OpenReservation(amountUsd, expiresAt);
        return ReservationOutcome.Granted;
    }

    public static SettlementOutcome Settle(BudgetState state, string id, decimal actualUsd, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actualUsd);
        if (state.Open.Remove(id))
        {
            state.SpentUsd += actualUsd;
            state.Settled[id] = new SettledReservation(actualUsd, now, Expired: false);
            return SettlementOutcome.Settled;
        }

        if (state.Settled.TryGetValue(id, out var settled))
        {
            if (!settled.Expired)
            {
                return SettlementOutcome.AlreadySettled;
            }

            // The reservation expired and was charged in full; the caller was only late. Charge what it really cost.
            state.SpentUsd += actualUsd - settled.ChargedUsd;
            state.Settled[id] = new SettledReservation(actualUsd, now, Expired: false);
            return SettlementOutcome.SettledAfterExpiry;
        }

        return SettlementOutcome.Unknown;
    }

    /// <summary>Charges every reservation past its expiry at its reserved amount. Returns how many expired.</summary>
    public static int ExpireDue(BudgetState state, DateTimeOffset now)
    {
        var due = state.Open.Where(r => r.Value.ExpiresAt <= now).Select(r => r.Key).ToList();
        foreach (var id in due)
        {
            var reservation = state.Open[id];
            state.Open.Remove(id);
            state.SpentUsd += reservation.AmountUsd;
            state.Settled[id] = new SettledReservation(reservation.AmountUsd, now, Expired: true);
        }

        foreach (var id in state.Settled.Where(s => now - s.Value.At > SettledRetention).Select(s => s.Key).ToList())
        {
            state.Settled.Remove(id);
        }

        return due.Count;
    }
}
