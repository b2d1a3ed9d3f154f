namespace Navigator.Grains.Budget;

[GenerateSerializer, Alias("Navigator.BudgetState")]
public sealed class BudgetState
{
    [Id(0)] public decimal LimitUsd { get; set; }
    [Id(1)] public decimal SpentUsd { get; set; }
    [Id(2)] public Dictionary<string, OpenReservation> Open { get; set; } = new(StringComparer.Ordinal);
    [Id(3)] public Dictionary<string, SettledReservation> Settled { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Spend charged per UTC day (yyyy-MM-dd), for the pacing cap and the forecast.</summary>
    [Id(4)] public Dictionary<string, decimal> DailySpentUsd { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A day may spend this many times an even share of the month's limit; 0 turns pacing off.</summary>
    [Id(5)] public decimal DailyPacingFactor { get; set; }

    /// <summary>The highest spent + reserved ever reached: evidence that the cap held.</summary>
    [Id(6)] public decimal PeakCommittedUsd { get; set; }

    [Id(7)] public List<decimal> AlertThresholds { get; set; } = [];

    /// <summary>Thresholds whose alert has fired this month.</summary>
    [Id(8)] public List<decimal> AlertsFired { get; set; } = [];

    [Id(9)] public List<BudgetAuditEntry> Audit { get; set; } = [];

    public BudgetState Clone() => new()
    {
        LimitUsd = LimitUsd,
        SpentUsd = SpentUsd,
        Open = new Dictionary<string, OpenReservation>(Open, StringComparer.Ordinal),
        Settled = new Dictionary<string, SettledReservation>(Settled, StringComparer.Ordinal),
        DailySpentUsd = new Dictionary<string, decimal>(DailySpentUsd, StringComparer.Ordinal),
        DailyPacingFactor = DailyPacingFactor,
        PeakCommittedUsd = PeakCommittedUsd,
        AlertThresholds = [.. AlertThresholds],
        AlertsFired = [.. AlertsFired],
        Audit = [.. Audit],
    };
}

[GenerateSerializer, Immutable, Alias("Navigator.OpenReservation")]
public sealed record OpenReservation(
    [property: Id(0)] decimal AmountUsd,
    [property: Id(1)] DateTimeOffset ExpiresAt,
    [property: Id(2)] string Day);

[GenerateSerializer, Immutable, Alias("Navigator.SettledReservation")]
public sealed record SettledReservation(
    [property: Id(0)] decimal ChargedUsd,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] bool Expired,
    [property: Id(3)] string Day);
