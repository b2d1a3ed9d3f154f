namespace Navigator.Grains.Budget;

[GenerateSerializer, Alias("Navigator.BudgetState")]
public sealed class BudgetState
{
    [Id(0)] public decimal LimitUsd { get; set; }
    [Id(1)] public decimal SpentUsd { get; set; }
    [Id(2)] public Dictionary<string, OpenReservation> Open { get; set; } = new(StringComparer.Ordinal);
    [Id(3)] public Dictionary<string, SettledReservation> Settled { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer, Immutable, Alias("Navigator.OpenReservation")]
public sealed record OpenReservation(
    [property: Id(0)] decimal AmountUsd,
    [property: Id(1)] DateTimeOffset ExpiresAt);

[GenerateSerializer, Immutable, Alias("Navigator.SettledReservation")]
public sealed record SettledReservation(
    [property: Id(0)] decimal ChargedUsd,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] bool Expired);
