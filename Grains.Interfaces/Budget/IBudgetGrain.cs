namespace Navigator.Grains.Budget;

/// <summary>
/// The cluster-wide cost ledger for one UTC month (key: yyyy-MM). It is the single authority over
/// the month's money, and it hands each API replica a <b>lease</b>: a durable slice of what remains.
/// Replicas reserve and settle each provider attempt against their lease in memory, and report
/// what they charged in batches (<see cref="RenewLeaseAsync"/>), so the grain sees a few calls per
/// replica per second whatever the request rate.
/// </summary>
[Alias("Navigator.IBudgetGrain")]
public interface IBudgetGrain : IGrainWithStringKey
{
    /// <summary>
    /// Opens, reports on, renews, grows, shrinks or releases one replica's lease. A report applied twice
    /// counts once (its sequence number). A grown lease is answered only after it is durable.
    /// </summary>
    [Alias("RenewLease")]
    Task<LeaseGrant> RenewLeaseAsync(LeaseReport report);

    [Alias("GetStatus")]
    Task<BudgetStatus> GetStatusAsync();

    /// <summary>Sets the month's hard limit and, when given, the daily pacing factor (0 turns pacing off). Audited.</summary>
    [Alias("SetLimit")]
    Task<BudgetStatus> SetLimitAsync(decimal limitUsd, decimal? dailyPacingFactor, string actor);

    [Alias("GetAudit")]
    Task<IReadOnlyList<BudgetAuditEntry>> GetAuditAsync();
}

/// <summary>
/// What a replica tells the month's ledger about one lease. Amounts are cumulative for the lease, so
/// a repeated or reordered report is harmless: only a higher <see cref="Sequence"/> changes anything.
/// </summary>
[GenerateSerializer, Immutable, Alias("Navigator.LeaseReport")]
public sealed record LeaseReport(
    // The reporting replica, for the budget view.
    [property: Id(0)] string ReplicaId,
    // The lease reported on; null opens a new one.
    [property: Id(1)] string? LeaseId,
    [property: Id(2)] long Sequence,
    // Everything settled against the lease so far, at actual cost.
    [property: Id(3)] decimal ChargedUsd,
    // Worst cases of the attempts running now, reserved but not settled.
    [property: Id(4)] decimal InFlightUsd,
    // The ceiling (charged + in flight + headroom) the replica holds itself to; never above what was granted.
    [property: Id(5)] decimal CeilingUsd,
    // Headroom needed now, beyond charged + in flight (an attempt is waiting for it); 0 for a routine report.
    [property: Id(6)] decimal NeedUsd,
    // Headroom the replica would like to hold (about 1–2 s of its recent spend).
    [property: Id(7)] decimal WantUsd,
    // The replica stops using the lease: it closes once nothing is in flight.
    [property: Id(8)] bool Release = false);

[GenerateSerializer]
public enum LeaseOutcome
{
    /// <summary>The lease holds at least the headroom that was needed.</summary>
    Granted = 0,
    /// <summary>The needed headroom would take spent + leases above the month's limit.</summary>
    LimitExceeded = 1,
    /// <summary>The needed headroom would take today's spend above the daily pacing cap.</summary>
    DailyCapExceeded = 2,
    /// <summary>The lease had expired (or was released) and is closed; the report was reconciled. Open a new lease.</summary>
    Closed = 3,
}

[GenerateSerializer, Immutable, Alias("Navigator.LeaseGrant")]
public sealed record LeaseGrant(
    [property: Id(0)] LeaseOutcome Outcome,
    [property: Id(1)] string? LeaseId,
    // The most that charged + in flight may reach on this lease.
    [property: Id(2)] decimal CeilingUsd,
    // How long after the report was sent the grain keeps the lease; replicas stop using it earlier.
    [property: Id(3)] TimeSpan ValidFor,
    [property: Id(4)] BudgetStatus Status);

[GenerateSerializer, Immutable, Alias("Navigator.BudgetStatus")]
public sealed record BudgetStatus(
    [property: Id(0)] string Month,
    [property: Id(1)] decimal LimitUsd,
    [property: Id(2)] decimal SpentUsd,
    // Set aside in leases and not yet charged: granted minus charged, summed over open leases.
    [property: Id(3)] decimal ReservedUsd,
    [property: Id(4)] IReadOnlyList<LeaseView> Leases,
    [property: Id(5)] decimal TodaySpentUsd,
    [property: Id(6)] decimal? DailyCapUsd,
    [property: Id(7)] decimal PeakCommittedUsd,
    // Charged for expired leases beyond what their replicas reported; a late report corrects it.
    [property: Id(8)] decimal UnreconciledUsd)
{
    public decimal RemainingUsd => Math.Max(0m, LimitUsd - SpentUsd - ReservedUsd);

    /// <summary>Share of the limit spent or set aside, in [0, ∞).</summary>
    public decimal Utilization => LimitUsd <= 0 ? 1m : (SpentUsd + ReservedUsd) / LimitUsd;

    /// <summary>Worst cases of the attempts in flight on all replicas, as last reported.</summary>
    public decimal InFlightUsd => Leases.Sum(l => l.InFlightUsd);
}

/// <summary>One open lease as the budget view shows it.</summary>
[GenerateSerializer, Immutable, Alias("Navigator.LeaseView")]
public sealed record LeaseView(
    [property: Id(0)] string LeaseId,
    [property: Id(1)] string ReplicaId,
    [property: Id(2)] decimal GrantedUsd,
    [property: Id(3)] decimal ChargedUsd,
    [property: Id(4)] decimal InFlightUsd,
    [property: Id(5)] DateTimeOffset ExpiresAt)
{
    public decimal OutstandingUsd => Math.Max(0m, GrantedUsd - ChargedUsd);
}

[GenerateSerializer, Immutable, Alias("Navigator.BudgetAuditEntry")]
public sealed record BudgetAuditEntry(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Actor,
    [property: Id(2)] string Action,
    [property: Id(3)] decimal? From,
    [property: Id(4)] decimal? To);
