using Navigator.Grains.Budget;

namespace Navigator.UnitTests;

public sealed class BudgetLedgerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static BudgetState Ledger(decimal limit) => new() { LimitUsd = limit };

    private static ReservationOutcome Reserve(BudgetState state, string id, decimal amount, DateTimeOffset expiresAt) =>
        BudgetLedger.TryReserve("2026-11", state, id, amount, Now, expiresAt);

    [Fact]
    public void Reserve_is_granted_up_to_exactly_the_limit_and_refused_beyond_it()
    {
        var state = Ledger(1.00m);
        Assert.Equal(ReservationOutcome.Granted, Reserve(state, "a", 0.60m, Now.AddMinutes(1)));
        Assert.Equal(ReservationOutcome.Granted, Reserve(state, "b", 0.40m, Now.AddMinutes(1)));
        Assert.Equal(ReservationOutcome.LimitExceeded, Reserve(state, "c", 0.000001m, Now.AddMinutes(1)));
        Assert.Equal(1.00m, BudgetLedger.Reserved(state));
    }

    [Fact]
    public void Reserving_the_same_id_twice_holds_one_reservation()
    {
        var state = Ledger(1m);
        Reserve(state, "a", 0.5m, Now);
        Assert.Equal(ReservationOutcome.Granted, Reserve(state, "a", 0.5m, Now));
        Assert.Equal(0.5m, BudgetLedger.Reserved(state));
    }

    [Fact]
    public void Settle_moves_the_actual_cost_to_spent_once()
    {
        var state = Ledger(1m);
        Reserve(state, "a", 0.5m, Now.AddMinutes(1));
        Assert.Equal(SettlementOutcome.Settled, BudgetLedger.Settle(state, "a", 0.2m, Now));
        Assert.Equal(SettlementOutcome.AlreadySettled, BudgetLedger.Settle(state, "a", 0.2m, Now));
        Assert.Equal(0.2m, state.SpentUsd);
        Assert.Equal(0m, BudgetLedger.Reserved(state));
        Assert.Equal(ReservationOutcome.AlreadySettled, Reserve(state, "a", 0.5m, Now));
        Assert.Equal(SettlementOutcome.Unknown, BudgetLedger.Settle(state, "never", 0.2m, Now));
    }

    [Fact]
    public void Expired_reservations_are_charged_in_full_and_a_late_settle_corrects_the_charge()
    {
        var state = Ledger(1m);
        Reserve(state, "a", 0.5m, Now.AddSeconds(30));
        Assert.Equal(0, BudgetLedger.ExpireDue(state, Now.AddSeconds(29)));
        Assert.Equal(1, BudgetLedger.ExpireDue(state, Now.AddSeconds(30)));
        Assert.Equal(0.5m, state.SpentUsd);
        Assert.Equal(0m, BudgetLedger.Reserved(state));

        Assert.Equal(SettlementOutcome.SettledAfterExpiry, BudgetLedger.Settle(state, "a", 0.1m, Now.AddMinutes(1)));
        Assert.Equal(0.1m, state.SpentUsd);
        Assert.Equal(SettlementOutcome.AlreadySettled, BudgetLedger.Settle(state, "a", 0.1m, Now.AddMinutes(2)));
    }

    [Fact]
    public void Settled_ids_are_forgotten_after_the_retention_period()
    {
        var state = Ledger(1m);
        Reserve(state, "a", 0.5m, Now.AddMinutes(1));
        BudgetLedger.Settle(state, "a", 0.5m, Now);
        BudgetLedger.ExpireDue(state, Now + BudgetLedger.SettledRetention + TimeSpan.FromSeconds(1));
        Assert.Empty(state.Settled);
        Assert.Equal(0.5m, state.SpentUsd);
    }

    [Fact]
    public void Negative_amounts_are_rejected()
    {
        var state = Ledger(1m);
        Assert.Throws<ArgumentOutOfRangeException>(() => Reserve(state, "a", -1m, Now));
        Assert.Throws<ArgumentOutOfRangeException>(() => BudgetLedger.Settle(state, "a", -1m, Now));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Spent_plus_reserved_never_exceeds_the_limit_in_random_histories(int seed)
    {
        var random = new Random(seed);
        var state = Ledger(random.Next(1, 50));
        var open = new List<(string Id, decimal Amount)>();
        var clock = Now;
        for (var step = 0; step < 5_000; step++)
        {
            clock = clock.AddSeconds(random.Next(0, 3));
            switch (random.Next(3))
            {
                case 0:
                    var amount = decimal.Round((decimal)random.NextDouble() * 2m, 6);
                    var id = $"r{step}";
                    if (BudgetLedger.TryReserve("2026-11", state, id, amount, clock, clock.AddSeconds(random.Next(1, 60))) == ReservationOutcome.Granted)
                    {
                        open.Add((id, amount));
                    }

                    break;
                case 1 when open.Count > 0:
                    var pick = open[random.Next(open.Count)];
                    open.Remove(pick);
                    // The actual cost never exceeds the worst case that was reserved.
                    BudgetLedger.Settle(state, pick.Id, decimal.Round(pick.Amount * (decimal)random.NextDouble(), 6), clock);
                    break;
                default:
                    BudgetLedger.ExpireDue(state, clock);
                    break;
            }

            Assert.True(state.PeakCommittedUsd <= state.LimitUsd, $"step {step}: peak {state.PeakCommittedUsd}");
            Assert.True(state.SpentUsd + BudgetLedger.Reserved(state) <= state.LimitUsd,
                $"step {step}: spent {state.SpentUsd} + reserved {BudgetLedger.Reserved(state)} > limit {state.LimitUsd}");
        }
    }

    [Fact]
    public void Daily_pacing_caps_a_day_at_its_share_of_the_month()
    {
        // $3000 over November's 30 days is $100 a day; a pacing factor of 2 allows $200 today.
        var state = new BudgetState { LimitUsd = 3000m, DailyPacingFactor = 2m };
        Assert.Equal(200m, BudgetLedger.DailyCap("2026-11", state));
        Assert.Equal(ReservationOutcome.Granted, Reserve(state, "a", 150m, Now.AddMinutes(1)));
        Assert.Equal(ReservationOutcome.DailyCapExceeded, Reserve(state, "b", 60m, Now.AddMinutes(1)));
        BudgetLedger.Settle(state, "a", 100m, Now);
        Assert.Equal(ReservationOutcome.Granted, Reserve(state, "b", 60m, Now.AddMinutes(1)));

        // Tomorrow starts a fresh day.
        Assert.Equal(ReservationOutcome.Granted,
            BudgetLedger.TryReserve("2026-11", state, "c", 150m, Now.AddDays(1), Now.AddDays(1).AddMinutes(1)));
        Assert.Null(BudgetLedger.DailyCap("not-a-month", state));
        Assert.Null(BudgetLedger.DailyCap("2026-11", new BudgetState { LimitUsd = 1m }));
    }

    [Fact]
    public void Alerts_fire_once_per_threshold_and_rearm_when_the_limit_rises()
    {
        var state = new BudgetState { LimitUsd = 100m, AlertThresholds = [0.5m, 0.8m, 1.0m] };
        state.SpentUsd = 49m;
        Assert.Empty(BudgetLedger.NewAlerts(state));
        state.SpentUsd = 85m;
        Assert.Equal([0.5m, 0.8m], BudgetLedger.NewAlerts(state));
        Assert.Empty(BudgetLedger.NewAlerts(state));
        state.SpentUsd = 100m;
        Assert.Equal([1.0m], BudgetLedger.NewAlerts(state));

        state.LimitUsd = 200m; // now 50% spent: the 80% and 100% alerts can fire again later
        Assert.Empty(BudgetLedger.NewAlerts(state));
        Assert.Equal([0.5m], state.AlertsFired);
    }

    [Fact]
    public void Peak_committed_records_the_high_water_mark()
    {
        var state = Ledger(10m);
        Reserve(state, "a", 6m, Now.AddMinutes(1));
        Reserve(state, "b", 3m, Now.AddMinutes(1));
        BudgetLedger.Settle(state, "a", 1m, Now);
        Assert.Equal(9m, state.PeakCommittedUsd);
        Assert.Equal(4m, state.SpentUsd + BudgetLedger.Reserved(state));
    }
}
