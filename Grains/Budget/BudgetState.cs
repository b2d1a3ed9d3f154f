namespace Navigator.Grains.Budget;

/// <summary>
/// The month's persisted ledger. Its size is bounded by replicas, days and caps, never by requests:
/// one open lease per replica (plus one retiring), at most <see cref="BudgetLedger.ClosedLeaseCap"/>
/// closed leases kept for late reports, one spend entry per day, and at most
/// <see cref="BudgetLedger.AuditCap"/> audit entries.
/// </summary>
[GenerateSerializer, Alias("Navigator.BudgetState")]
public sealed class BudgetState
{
    [Id(0)] public decimal LimitUsd { get; set; }
    [Id(1)] public decimal SpentUsd { get; set; }

    // Ids 2 and 3 held per-request reservations and settled ids before leases replaced them; the
    // version-tolerant serializer skips them in an old ledger.

    /// <summary>Spend charged per UTC day (yyyy-MM-dd), for the pacing cap and the forecast.</summary>
    [Id(4)] public Dictionary<string, decimal> DailySpentUsd { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A day may spend this many times an even share of the month's limit; 0 turns pacing off.</summary>
    [Id(5)] public decimal DailyPacingFactor { get; set; }

    /// <summary>The highest spent + outstanding leases ever reached: evidence that the cap held.</summary>
    [Id(6)] public decimal PeakCommittedUsd { get; set; }

    [Id(7)] public List<decimal> AlertThresholds { get; set; } = [];

    /// <summary>Thresholds whose alert has fired this month.</summary>
    [Id(8)] public List<decimal> AlertsFired { get; set; } = [];

    /// <summary>The newest <see cref="BudgetLedger.AuditCap"/> changes; older ones are counted in <see cref="AuditTrimmed"/>.</summary>
    [Id(9)] public List<BudgetAuditEntry> Audit { get; set; } = [];

    [Id(10)] public Dictionary<string, Lease> Leases { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Leases that expired or were released with work in flight, kept so a late report is reconciled.</summary>
    [Id(11)] public Dictionary<string, ClosedLease> Closed { get; set; } = new(StringComparer.Ordinal);

    [Id(12)] public long AuditTrimmed { get; set; }

    public BudgetState Clone() => new()
    {
        LimitUsd = LimitUsd,
        SpentUsd = SpentUsd,
        DailySpentUsd = new Dictionary<string, decimal>(DailySpentUsd, StringComparer.Ordinal),
        DailyPacingFactor = DailyPacingFactor,
        PeakCommittedUsd = PeakCommittedUsd,
        AlertThresholds = [.. AlertThresholds],
        AlertsFired = [.. AlertsFired],
        Audit = [.. Audit],
        Leases = Leases.ToDictionary(l => l.Key, l => l.Value with { }, StringComparer.Ordinal),
        Closed = new Dictionary<string, ClosedLease>(Closed, StringComparer.Ordinal),
        AuditTrimmed = AuditTrimmed,
    };
}

/// <summary>
/// One replica's open lease. <see cref="GrantedUsd"/> is the most its charged + in-flight amounts may
/// reach; the ledger counts <c>GrantedUsd − ChargedUsd</c> as set aside until the lease closes.
/// </summary>
[GenerateSerializer, Alias("Navigator.Lease")]
public sealed record Lease
{
    [Id(0)] public required string LeaseId { get; init; }
    [Id(1)] public required string ReplicaId { get; init; }
    [Id(2)] public decimal GrantedUsd { get; set; }
    [Id(3)] public decimal ChargedUsd { get; set; }
    [Id(4)] public decimal InFlightUsd { get; set; }
    [Id(5)] public long Sequence { get; set; }
    [Id(6)] public DateTimeOffset ExpiresAt { get; set; }

    public decimal OutstandingUsd => Math.Max(0m, GrantedUsd - ChargedUsd);
}

/// <summary>
/// A lease that closed before its replica reported everything. <see cref="ChargedUsd"/> is what the
/// ledger charged for it in all; <see cref="ReportedUsd"/> what the replica reported. The difference
/// is unreconciled until a late report arrives.
/// </summary>
[GenerateSerializer, Immutable, Alias("Navigator.ClosedLease")]
public sealed record ClosedLease(
    [property: Id(0)] string ReplicaId,
    [property: Id(1)] decimal ChargedUsd,
    [property: Id(2)] decimal ReportedUsd,
    [property: Id(3)] long Sequence,
    [property: Id(4)] DateTimeOffset ClosedAt,
    [property: Id(5)] string Day)
{
    public decimal UnreconciledUsd => ChargedUsd - ReportedUsd;
}
