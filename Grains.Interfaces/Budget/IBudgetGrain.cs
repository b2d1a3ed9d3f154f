namespace Navigator.Grains.Budget;

/// <summary>The cluster-wide cost ledger for one UTC month (key: yyyy-MM), used as reserve-then-settle.</summary>
[Alias("Navigator.IBudgetGrain")]
public interface IBudgetGrain : IGrainWithStringKey
{
    /// <summary>
    /// Reserves the worst-case cost of one provider attempt. Granted only if spent + reserved +
    /// amount ≤ limit (and within today's pacing cap), and acknowledged only after the ledger is durable.
    /// </summary>
    [Alias("Reserve")]
    Task<ReservationResult> ReserveAsync(string reservationId, decimal amountUsd, TimeSpan ttl);

    /// <summary>Settles a reservation at its actual cost. Idempotent per reservation id.</summary>
    [Alias("Settle")]
    Task<SettlementResult> SettleAsync(string reservationId, decimal actualCostUsd);

    [Alias("GetStatus")]
    Task<BudgetStatus> GetStatusAsync();

    /// <summary>Sets the month's hard limit and, when given, the daily pacing factor (0 turns pacing off). Audited.</summary>
    [Alias("SetLimit")]
    Task<BudgetStatus> SetLimitAsync(decimal limitUsd, decimal? dailyPacingFactor, string actor);

    [Alias("GetAudit")]
    Task<IReadOnlyList<BudgetAuditEntry>> GetAuditAsync();
}

[GenerateSerializer, Immutable, Alias("Navigator.BudgetStatus")]
public sealed record BudgetStatus(
    [property: Id(0)] string Month,
    [property: Id(1)] decimal LimitUsd,
    [property: Id(2)] decimal SpentUsd,
    [property: Id(3)] decimal ReservedUsd,
    [property: Id(4)] int OpenReservations,
    [property: Id(5)] decimal TodaySpentUsd,
    [property: Id(6)] decimal? DailyCapUsd,
    [property: Id(7)] decimal PeakCommittedUsd)
{
    public decimal RemainingUsd => Math.Max(0m, LimitUsd - SpentUsd - ReservedUsd);

    /// <summary>Share of the limit spent or reserved, in [0, ∞).</summary>
    public decimal Utilization => LimitUsd <= 0 ? 1m : (SpentUsd + ReservedUsd) / LimitUsd;
}

[GenerateSerializer]
public enum ReservationOutcome
{
    Granted = 0,
    /// <summary>Granting it would take spent + reserved above the month's limit.</summary>
    LimitExceeded = 1,
    /// <summary>The id was already settled; a settled reservation cannot be reopened.</summary>
    AlreadySettled = 2,
    /// <summary>Granting it would take today's spend above the daily pacing cap.</summary>
    DailyCapExceeded = 3,
}

[GenerateSerializer, Immutable, Alias("Navigator.ReservationResult")]
public sealed record ReservationResult(
    [property: Id(0)] ReservationOutcome Outcome,
    [property: Id(1)] BudgetStatus Status)
{
    public bool Granted => Outcome == ReservationOutcome.Granted;
}

[GenerateSerializer]
public enum SettlementOutcome
{
    Settled = 0,
    /// <summary>The same id was settled before; nothing changed.</summary>
    AlreadySettled = 1,
    /// <summary>The reservation had expired and been charged at its reserved amount; the charge was corrected to the actual cost.</summary>
    SettledAfterExpiry = 2,
    /// <summary>No reservation with this id is known.</summary>
    Unknown = 3,
}

[GenerateSerializer, Immutable, Alias("Navigator.SettlementResult")]
public sealed record SettlementResult(
    [property: Id(0)] SettlementOutcome Outcome,
    [property: Id(1)] BudgetStatus Status);

[GenerateSerializer, Immutable, Alias("Navigator.BudgetAuditEntry")]
public sealed record BudgetAuditEntry(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Actor,
    [property: Id(2)] string Action,
    [property: Id(3)] decimal? From,
    [property: Id(4)] decimal? To);
