using System.Globalization;

namespace Navigator.Grains.Budget;

/// <summary>
/// The reserve-then-settle arithmetic, kept apart from the grain so it can be tested exhaustively.
/// Invariant: <c>SpentUsd + Reserved ≤ LimitUsd</c> whenever every settled cost is at most its reservation.
/// </summary>
public static class BudgetLedger
{
    /// <summary>
    /// How long a settled id is remembered, so a duplicate or late settle is still recognised. Every
    /// remembered id is part of each ledger write, so this is kept short: a few reservation TTLs.
    /// </summary>
    public static readonly TimeSpan SettledRetention = TimeSpan.FromMinutes(5);

    public static string DayOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static decimal Reserved(BudgetState state) => state.Open.Values.Sum(r => r.AmountUsd);

    /// <summary>Today's cap: an even share of the month times the pacing factor, or null when pacing is off or the key is not a month.</summary>
    public static decimal? DailyCap(string month, BudgetState state)
    {
        if (state.DailyPacingFactor <= 0
            || !DateTime.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var start))
        {
            return null;
        }

        return state.LimitUsd * state.DailyPacingFactor / DateTime.DaysInMonth(start.Year, start.Month);
    }

    public static BudgetStatus Status(string month, BudgetState state, DateTimeOffset now)
    {
        var today = DayOf(now);
        var todayCommitted = state.DailySpentUsd.GetValueOrDefault(today);
        return new BudgetStatus(month, state.LimitUsd, state.SpentUsd, Reserved(state), state.Open.Count,
            todayCommitted, DailyCap(month, state), state.PeakCommittedUsd);
    }

    public static ReservationOutcome TryReserve(string month, BudgetState state, string id, decimal amountUsd, DateTimeOffset now, DateTimeOffset expiresAt)
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

        var reserved = Reserved(state);
        if (state.SpentUsd + reserved + amountUsd > state.LimitUsd)
        {
            return ReservationOutcome.LimitExceeded;
        }

        var today = DayOf(now);
        if (DailyCap(month, state) is { } cap)
        {
            var todayReserved = state.Open.Values.Where(r => r.Day == today).Sum(r => r.AmountUsd);
            if (state.DailySpentUsd.GetValueOrDefault(today) + todayReserved + amountUsd > cap)
            {
                return ReservationOutcome.DailyCapExceeded;
            }
        }

        state.Open[id] = new OpenReservation(amountUsd, expiresAt, today);
        state.PeakCommittedUsd = Math.Max(state.PeakCommittedUsd, state.SpentUsd + reserved + amountUsd);
        return ReservationOutcome.Granted;
    }

    public static SettlementOutcome Settle(BudgetState state, string id, decimal actualUsd, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actualUsd);
        if (state.Open.Remove(id, out var open))
        {
            Charge(state, open.Day, actualUsd);
            state.Settled[id] = new SettledReservation(actualUsd, now, Expired: false, open.Day);
            return SettlementOutcome.Settled;
        }

        if (state.Settled.TryGetValue(id, out var settled))
        {
            if (!settled.Expired)
            {
                return SettlementOutcome.AlreadySettled;
            }

            // The reservation expired and was charged in full; the caller was only late. Charge what it really cost.
            Charge(state, settled.Day, actualUsd - settled.ChargedUsd);
            state.Settled[id] = settled with { ChargedUsd = actualUsd, At = now, Expired = false };
            return SettlementOutcome.SettledAfterExpiry;
        }

        return SettlementOutcome.Unknown;
    }

    /// <summary>Charges every reservation past its expiry at its reserved amount, and forgets old settled ids. Returns how many expired.</summary>
    public static int ExpireDue(BudgetState state, DateTimeOffset now)
    {
        var due = state.Open.Where(r => r.Value.ExpiresAt <= now).Select(r => r.Key).ToList();
        foreach (var id in due)
        {
            state.Open.Remove(id, out var reservation);
            Charge(state, reservation!.Day, reservation.AmountUsd);
            state.Settled[id] = new SettledReservation(reservation.AmountUsd, now, Expired: true, reservation.Day);
        }

        foreach (var id in state.Settled.Where(s => now - s.Value.At > SettledRetention).Select(s => s.Key).ToList())
        {
            state.Settled.Remove(id);
        }

        return due.Count;
    }

    /// <summary>Thresholds newly crossed by spend, marked as fired. Raising the limit re-arms the ones no longer crossed.</summary>
    public static IReadOnlyList<decimal> NewAlerts(BudgetState state)
    {
        var ratio = state.LimitUsd <= 0 ? 1m : state.SpentUsd / state.LimitUsd;
        state.AlertsFired.RemoveAll(t => ratio < t);
        var crossed = state.AlertThresholds.Where(t => ratio >= t && !state.AlertsFired.Contains(t)).Order().ToList();
        state.AlertsFired.AddRange(crossed);
        return crossed;
    }

    private static void Charge(BudgetState state, string day, decimal amount)
    {
        state.SpentUsd += amount;
        state.DailySpentUsd[day] = state.DailySpentUsd.GetValueOrDefault(day) + amount;
    }
}
