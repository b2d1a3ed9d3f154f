using Navigator.Grains.Budget;

namespace Navigator.UnitTests;

/// <summary>A replica's side of a budget lease: reservations against the ceiling, settlement, reports and grants.</summary>
public sealed class LeaseAccountTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan ValidFor = TimeSpan.FromSeconds(15);
    private static readonly BudgetStatus Status = new("2026-11", 100m, 0m, 0m, [], 0m, null, 0m, 0m);

    private static LeaseGrant Grant(decimal ceiling, LeaseOutcome outcome = LeaseOutcome.Granted) => new(outcome, "lease-1", ceiling, ValidFor, Status);

    private static LeaseAccount Granted(decimal ceiling)
    {
        var account = new LeaseAccount();
        account.Apply(Grant(ceiling), Now);
        return account;
    }

    [Fact]
    public void Reserves_up_to_exactly_the_ceiling_and_not_a_cent_more()
    {
        var account = Granted(1.00m);
        Assert.Equal("lease-1", account.LeaseId);
        Assert.True(account.TryReserve(0.60m, Now));
        Assert.True(account.TryReserve(0.40m, Now));
        Assert.False(account.TryReserve(0.01m, Now));
        Assert.Equal((1.00m, 0m, 1.00m), (account.InFlightUsd, account.ChargedUsd, account.CeilingUsd));

        // Settling gives back the reservation and charges the actual cost: room comes back.
        account.Settle(0.60m, 0.25m);
        Assert.Equal((0.40m, 0.25m), (account.InFlightUsd, account.ChargedUsd));
        Assert.True(account.TryReserve(0.35m, Now));
        Assert.False(account.TryReserve(0.01m, Now));
    }

    [Fact]
    public void No_reservation_without_a_grant_after_a_seal_or_in_the_last_third_of_the_ttl()
    {
        Assert.False(new LeaseAccount().TryReserve(0.01m, Now));

        var account = Granted(1m);
        // Valid for two thirds of the 15 s: until 10 s after the report was sent.
        Assert.True(account.TryReserve(0.01m, Now.AddSeconds(10) - TimeSpan.FromTicks(1)));
        Assert.False(account.TryReserve(0.01m, Now.AddSeconds(10)));
        Assert.Equal(Now.AddSeconds(10) - TimeSpan.FromTicks(1), account.LastUsed);

        var sealedAccount = Granted(1m);
        sealedAccount.Seal();
        Assert.True(sealedAccount.Closed);
        Assert.False(sealedAccount.TryReserve(0.01m, Now));
        // A sealed lease's next report returns it.
        Assert.True(sealedAccount.NextReport("r1", 0m, 0m, release: false).Release);
    }

    [Fact]
    public void Reports_carry_cumulative_amounts_and_a_new_sequence_and_say_when_there_is_news()
    {
        var account = Granted(2m);
        Assert.True(account.HasNews); // the grant set the ceiling
        var first = account.NextReport("r1", 0m, 0m, release: false);
        Assert.False(account.HasNews);
        Assert.Equal(("r1", "lease-1", 1L, 0m, 0m, 2m, false), (first.ReplicaId, first.LeaseId, first.Sequence, first.ChargedUsd, first.InFlightUsd, first.CeilingUsd, first.Release));

        Assert.True(account.TryReserve(0.5m, Now));
        Assert.True(account.HasNews);
        account.Settle(0.5m, 0.2m);
        Assert.True(account.TryReserve(0.3m, Now));
        var second = account.NextReport("r1", 0.1m, 0.7m, release: false);
        Assert.Equal((2L, 0.2m, 0.3m, 2m, 0.1m, 0.7m), (second.Sequence, second.ChargedUsd, second.InFlightUsd, second.CeilingUsd, second.NeedUsd, second.WantUsd));

        // Releasing holds the replica to what it has started.
        var release = account.NextReport("r1", 0m, 0m, release: true);
        Assert.Equal((3L, 0.5m, true), (release.Sequence, release.CeilingUsd, release.Release));
    }

    [Fact]
    public void A_reservation_settled_between_two_reports_is_news()
    {
        var account = Granted(1m);
        account.NextReport("r1", 0m, 0m, release: false);
        Assert.True(account.TryReserve(0.10m, Now));
        account.Settle(0.10m, 0.05m);
        Assert.True(account.HasNews);
        Assert.Equal(0.05m, account.NextReport("r1", 0m, 0m, release: false).ChargedUsd);
    }

    [Fact]
    public void A_settled_reservation_leaves_no_negative_zero_and_a_settlement_is_news()
    {
        var account = Granted(1m);
        Assert.True(account.TryReserve(0.10m, Now));
        account.NextReport("r1", 0m, 0m, release: false);
        account.Settle(0.10m, 0.10m);
        Assert.True(account.HasNews);
        Assert.Equal("0", account.InFlightUsd.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void A_shrunk_grant_never_drops_below_what_has_started_and_a_closed_grant_closes_the_lease()
    {
        var account = Granted(1m);
        Assert.True(account.TryReserve(0.7m, Now));
        account.NextReport("r1", 0m, 0m, release: false);
        account.Apply(Grant(0.5m), Now);
        Assert.Equal(0.7m, account.CeilingUsd);
        Assert.True(account.HasNews); // the next report tells the grain the ceiling it holds to
        account.NextReport("r1", 0m, 0m, release: false);
        account.Apply(Grant(0.7m), Now);
        Assert.False(account.HasNews); // the same ceiling again is no news
        Assert.False(account.TryReserve(0.01m, Now));

        account.Apply(Grant(0m, LeaseOutcome.Closed), Now);
        Assert.True(account.Closed);
        account.Apply(Grant(5m), Now.AddSeconds(1)); // a late grant does not reopen it
        Assert.Equal(0.7m, account.CeilingUsd);
        Assert.False(account.TryReserve(0.01m, Now.AddSeconds(1)));
    }
}
