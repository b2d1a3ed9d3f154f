using System.Globalization;

namespace Navigator.Grains.Budget;

/// <summary>
/// The lease arithmetic, kept apart from the grain so it can be tested exhaustively.
/// <para>
/// Invariant: a lease only grows while <c>SpentUsd + Σ(GrantedUsd − ChargedUsd) ≤ LimitUsd</c> holds
/// after the growth, and a replica never lets its charged + in-flight amounts pass what was granted.
/// So no attempt starts on money the ledger has not set aside, whatever the number of replicas.
/// </para>
/// </summary>
public static class BudgetLedger
{
    /// <summary>The audit log keeps this many newest entries; older ones are dropped and counted.</summary>
    public const int AuditCap = 200;

    /// <summary>Closed leases kept for late reports, newest first; older ones are forgotten as they were charged.</summary>
    public const int ClosedLeaseCap = 128;

    public static readonly TimeSpan ClosedLeaseRetention = TimeSpan.FromHours(24);

    public static string DayOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Set aside in open leases and not yet charged.</summary>
    public static decimal Outstanding(BudgetState state) => state.Leases.Values.Sum(l => l.OutstandingUsd);

    public static decimal Unreconciled(BudgetState state) => state.Closed.Values.Sum(c => c.UnreconciledUsd);

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

    public static BudgetStatus Status(string month, BudgetState state, DateTimeOffset now) => new(
        month,
        state.LimitUsd,
        state.SpentUsd,
        Outstanding(state),
        [.. state.Leases.Values.Select(l => new LeaseView(l.LeaseId, l.ReplicaId, l.GrantedUsd, l.ChargedUsd, l.InFlightUsd, l.ExpiresAt))],
        state.DailySpentUsd.GetValueOrDefault(DayOf(now)),
        DailyCap(month, state),
        state.PeakCommittedUsd,
        Unreconciled(state));

    /// <summary>What <see cref="Renew"/> did.</summary>
    public readonly record struct RenewResult(LeaseOutcome Outcome, string? LeaseId, decimal CeilingUsd, bool Changed, bool Grew);

    /// <summary>
    /// Applies a replica's report and decides its lease's new ceiling. The ceiling covers what the
    /// replica has already started (charged + in flight) plus headroom: the needed amount (what its
    /// waiting attempts need), or the wanted amount up to a fair share of what remains if that is more,
    /// never more than remains.
    /// </summary>
    public static RenewResult Renew(string month, BudgetState state, LeaseReport report, DateTimeOffset now, TimeSpan ttl, Func<string> newId)
    {
        // Compared with < 0, not ThrowIfNegative: a decimal difference can be a negative zero.
        if (report.ChargedUsd < 0 || report.InFlightUsd < 0 || report.NeedUsd < 0 || report.WantUsd < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(report), report, "Lease amounts must not be negative.");
        }
        Lease lease;
        var changed = false;
        if (report.LeaseId is { } id)
        {
            if (!state.Leases.TryGetValue(id, out var open))
            {
                return new RenewResult(LeaseOutcome.Closed, null, 0m, ReconcileLate(state, id, report), false);
            }

            lease = open;
            if (report.Sequence <= lease.Sequence)
            {
                // A repeated or overtaken report: it changes nothing.
                return new RenewResult(LeaseOutcome.Granted, lease.LeaseId, lease.GrantedUsd, false, false);
            }

            var charged = Math.Max(lease.ChargedUsd, report.ChargedUsd);
            if (charged != lease.ChargedUsd)
            {
                Charge(state, DayOf(now), charged - lease.ChargedUsd);
                lease.ChargedUsd = charged;
                changed = true;
            }

            changed |= lease.InFlightUsd != report.InFlightUsd;
            lease.InFlightUsd = report.InFlightUsd;
            lease.Sequence = report.Sequence;
            lease.ExpiresAt = now + ttl;
            // The replica may hold itself to less than was granted (a shrink it accepted); never to less than it started.
            var started = lease.ChargedUsd + report.InFlightUsd;
            var accepted = report.Release ? started : Math.Max(Math.Min(lease.GrantedUsd, report.CeilingUsd), started);
            if (accepted < lease.GrantedUsd)
            {
                lease.GrantedUsd = accepted;
                changed = true;
            }

            if (report.Release)
            {
                Close(state, lease, now);
                return new RenewResult(LeaseOutcome.Closed, null, 0m, true, false);
            }
        }
        else
        {
            if (report.Release)
            {
                return new RenewResult(LeaseOutcome.Closed, null, 0m, false, false);
            }

            lease = new Lease { LeaseId = newId(), ReplicaId = report.ReplicaId, Sequence = report.Sequence, ExpiresAt = now + ttl };
            state.Leases[lease.LeaseId] = lease;
            changed = true;
        }

        var floor = lease.ChargedUsd + lease.InFlightUsd;
        var others = state.Leases.Values.Where(l => !ReferenceEquals(l, lease)).Sum(l => l.OutstandingUsd);
        var room = state.LimitUsd - state.SpentUsd - others - lease.InFlightUsd;
        var available = room;
        // A routine report needs nothing, so it is never refused; a need is refused by the monthly limit first.
        var outcome = report.NeedUsd == 0 || report.NeedUsd <= room ? LeaseOutcome.Granted : LeaseOutcome.LimitExceeded;
        if (DailyCap(month, state) is { } cap)
        {
            // Everything outstanding may still be spent today.
            var dailyRoom = cap - state.DailySpentUsd.GetValueOrDefault(DayOf(now)) - others - lease.InFlightUsd;
            available = Math.Min(available, dailyRoom);
            if (outcome == LeaseOutcome.Granted && report.NeedUsd > 0 && report.NeedUsd > dailyRoom)
            {
                outcome = LeaseOutcome.DailyCapExceeded;
            }
        }

        available = Math.Max(0m, available);
        // A fair share leaves room for a replica that has no lease yet.
        var want = Math.Min(report.WantUsd, available / (state.Leases.Count + 1));
        // Near the cap a need may be larger than what is left: the lease then gets what is left, so the
        // replica's waiting attempts that still fit can start, and the others are refused.
        var headroom = Math.Min(Math.Max(want, report.NeedUsd), available);
        var ceiling = floor + headroom;
        var grew = ceiling > lease.GrantedUsd;
        if (grew)
        {
            lease.GrantedUsd = ceiling;
            state.PeakCommittedUsd = Math.Max(state.PeakCommittedUsd, state.SpentUsd + Outstanding(state));
            changed = true;
        }

        return new RenewResult(outcome, lease.LeaseId, ceiling, changed, grew);
    }

    /// <summary>Closes every lease past its expiry, charging what it never reported. Returns how many expired.</summary>
    public static int ExpireDue(BudgetState state, DateTimeOffset now)
    {
        var due = state.Leases.Values.Where(l => l.ExpiresAt <= now).ToList();
        foreach (var lease in due)
        {
            Close(state, lease, now);
        }

        foreach (var old in state.Closed.Where(c => now - c.Value.ClosedAt > ClosedLeaseRetention).Select(c => c.Key).ToList())
        {
            state.Closed.Remove(old);
        }

        foreach (var old in state.Closed.OrderByDescending(c => c.Value.ClosedAt).Skip(ClosedLeaseCap).Select(c => c.Key).ToList())
        {
            state.Closed.Remove(old);
        }

        return due.Count;
    }

    public static void AddAudit(BudgetState state, BudgetAuditEntry entry)
    {
        state.Audit.Add(entry);
        var excess = state.Audit.Count - AuditCap;
        if (excess > 0)
        {
            state.Audit.RemoveRange(0, excess);
            state.AuditTrimmed += excess;
        }
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

    /// <summary>
    /// Closes a lease: what it set aside but never reported is charged now (the replica may have spent
    /// it). With nothing unreported, the lease is simply gone; otherwise it is kept for a late report.
    /// </summary>
    private static void Close(BudgetState state, Lease lease, DateTimeOffset now)
    {
        state.Leases.Remove(lease.LeaseId);
        var unreported = lease.OutstandingUsd;
        if (unreported > 0)
        {
            var day = DayOf(now);
            Charge(state, day, unreported);
            state.Closed[lease.LeaseId] = new ClosedLease(lease.ReplicaId, lease.ChargedUsd + unreported, lease.ChargedUsd, lease.Sequence, now, day);
        }
    }

    /// <summary>A report on a closed lease corrects its charge to what was reported plus what is still in flight.</summary>
    private static bool ReconcileLate(BudgetState state, string id, LeaseReport report)
    {
        if (!state.Closed.TryGetValue(id, out var closed) || report.Sequence <= closed.Sequence)
        {
            return false;
        }

        var reported = Math.Max(closed.ReportedUsd, report.ChargedUsd);
        var total = reported + report.InFlightUsd;
        Charge(state, closed.Day, total - closed.ChargedUsd);
        if (report.InFlightUsd == 0)
        {
            state.Closed.Remove(id);
        }
        else
        {
            state.Closed[id] = closed with { ChargedUsd = total, ReportedUsd = reported, Sequence = report.Sequence };
        }

        return true;
    }

    private static void Charge(BudgetState state, string day, decimal amount)
    {
        state.SpentUsd += amount;
        state.DailySpentUsd[day] = state.DailySpentUsd.GetValueOrDefault(day) + amount;
    }
}
