using Navigator.Api.Pipeline;
using Navigator.Grains.Budget;

namespace Navigator.UnitTests;

public sealed class BudgetLedgerTests
{
    private const string Month = "2026-11";
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(15);

    private static BudgetState Ledger(decimal limit) => new() { LimitUsd = limit };

    private static int _ids;

    private static BudgetLedger.RenewResult Renew(BudgetState state, LeaseReport report, DateTimeOffset? at = null) =>
        BudgetLedger.Renew(Month, state, report, at ?? Now, Ttl, () => $"lease-{Interlocked.Increment(ref _ids)}");

    private static LeaseReport Open(decimal need, decimal want = 0m, string replica = "r1") => new(replica, null, 1, 0m, 0m, 0m, need, want);

    private static LeaseReport Report(string id, long sequence, decimal charged, decimal inFlight = 0m, decimal ceiling = decimal.MaxValue,
        decimal need = 0m, decimal want = 0m, bool release = false) => new("r1", id, sequence, charged, inFlight, ceiling, need, want, release);

    [Fact]
    public void A_lease_grows_up_to_exactly_the_limit_and_is_refused_beyond_it()
    {
        var state = Ledger(1.00m);
        var first = Renew(state, Open(0.60m));
        Assert.Equal((LeaseOutcome.Granted, 0.60m, true), (first.Outcome, first.CeilingUsd, first.Grew));
        var second = Renew(state, Open(0.40m, replica: "r2"));
        Assert.Equal((LeaseOutcome.Granted, 0.40m), (second.Outcome, second.CeilingUsd));
        var third = Renew(state, Open(0.000001m, replica: "r3"));
        Assert.Equal(LeaseOutcome.LimitExceeded, third.Outcome);
        Assert.Equal(0m, third.CeilingUsd);
        Assert.Equal(1.00m, BudgetLedger.Outstanding(state));
    }

    [Fact]
    public void Wanted_headroom_is_capped_by_a_fair_share_of_what_remains()
    {
        var state = Ledger(10m);
        // Alone, a lease may take half of what remains: the other half waits for a replica with no lease yet.
        Assert.Equal(5m, Renew(state, Open(0m, want: 100m)).CeilingUsd);
        // The second replica finds $5 left and two leases: a third of it.
        Assert.Equal(5m / 3, Renew(state, Open(0m, want: 100m, replica: "r2")).CeilingUsd);
        // A need above the fair share is still granted when it fits.
        var needy = Renew(state, Open(3m, want: 0m, replica: "r3"));
        Assert.Equal((LeaseOutcome.Granted, 3m), (needy.Outcome, needy.CeilingUsd));
    }

    [Fact]
    public void Reports_move_charges_to_spent_once_and_a_repeated_report_changes_nothing()
    {
        var state = Ledger(10m);
        var id = Renew(state, Open(2m)).LeaseId!;
        var applied = Renew(state, Report(id, 2, charged: 0.5m, inFlight: 0.25m));
        Assert.True(applied.Changed);
        var repeated = Renew(state, Report(id, 2, charged: 0.5m, inFlight: 0.25m));
        Assert.False(repeated.Changed);
        var overtaken = Renew(state, Report(id, 1, charged: 9m));
        Assert.False(overtaken.Changed);
        Assert.Equal(0.5m, state.SpentUsd);
        Assert.Equal(0.5m, state.DailySpentUsd["2026-11-27"]);
        Assert.Equal(1.5m, BudgetLedger.Outstanding(state));
    }

    [Fact]
    public void Releasing_a_lease_returns_what_it_did_not_use()
    {
        var state = Ledger(10m);
        var id = Renew(state, Open(2m)).LeaseId!;
        var closed = Renew(state, Report(id, 2, charged: 0.7m, release: true));
        Assert.Equal(LeaseOutcome.Closed, closed.Outcome);
        Assert.Equal(0.7m, state.SpentUsd);
        Assert.Empty(state.Leases);
        Assert.Empty(state.Closed);
        Assert.Equal(0m, BudgetLedger.Outstanding(state));
    }

    [Fact]
    public void An_expired_lease_is_charged_in_full_and_a_late_report_reconciles_it()
    {
        var state = Ledger(10m);
        var id = Renew(state, Open(2m)).LeaseId!;
        Renew(state, Report(id, 2, charged: 0.5m), Now.AddSeconds(1));
        Assert.Equal(0, BudgetLedger.ExpireDue(state, Now.AddSeconds(1) + Ttl - TimeSpan.FromTicks(1)));
        Assert.Equal(1, BudgetLedger.ExpireDue(state, Now.AddSeconds(1) + Ttl));
        Assert.Equal(2m, state.SpentUsd);
        Assert.Equal(1.5m, BudgetLedger.Unreconciled(state));

        // The replica was only cut off: its late report (one attempt still in flight) corrects the charge.
        var late = Renew(state, Report(id, 3, charged: 0.8m, inFlight: 0.3m), Now.AddMinutes(1));
        Assert.Equal(LeaseOutcome.Closed, late.Outcome);
        Assert.Equal(1.1m, state.SpentUsd);
        Assert.Equal(0.3m, BudgetLedger.Unreconciled(state));
        Renew(state, Report(id, 4, charged: 0.9m), Now.AddMinutes(2));
        Assert.Equal(0.9m, state.SpentUsd);
        Assert.Equal(0m, BudgetLedger.Unreconciled(state));
        Assert.Empty(state.Closed);
        // The late day's charge went to the day the lease closed.
        Assert.Equal(0.9m, state.DailySpentUsd.Values.Sum());
    }

    [Fact]
    public void A_lowered_limit_shrinks_the_lease_to_what_has_started()
    {
        var state = Ledger(10m);
        var id = Renew(state, Open(0m, want: 4m)).LeaseId!;
        state.LimitUsd = 0.75m;
        // $0.5 charged and $0.25 in flight; the limit now leaves nothing more.
        var shrunk = Renew(state, Report(id, 2, charged: 0.5m, inFlight: 0.25m, ceiling: 4m, want: 4m));
        Assert.Equal(0.75m, shrunk.CeilingUsd);
        // The grain keeps counting the old grant until the replica says it holds to the new ceiling.
        Assert.Equal(4m, state.Leases[id].GrantedUsd);
        Renew(state, Report(id, 3, charged: 0.5m, inFlight: 0.25m, ceiling: 0.75m));
        Assert.Equal(0.75m, state.Leases[id].GrantedUsd);
        Assert.Equal(LeaseOutcome.LimitExceeded, Renew(state, Report(id, 4, charged: 0.5m, inFlight: 0.25m, ceiling: 0.75m, need: 0.5m)).Outcome);
    }

    [Fact]
    public void Negative_amounts_are_rejected()
    {
        var state = Ledger(1m);
        Assert.Throws<ArgumentOutOfRangeException>(() => Renew(state, Open(-1m)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Renew(state, new LeaseReport("r", null, 1, -1m, 0m, 0m, 0m, 0m)));
        Assert.Empty(state.Leases);
    }

    [Fact]
    public void Daily_pacing_caps_a_day_at_its_share_of_the_month()
    {
        // $3000 over November's 30 days is $100 a day; a pacing factor of 2 allows $200 today.
        var state = new BudgetState { LimitUsd = 3000m, DailyPacingFactor = 2m };
        Assert.Equal(200m, BudgetLedger.DailyCap(Month, state));
        var id = Renew(state, Open(150m)).LeaseId!;
        // $60 more does not fit today: refused, and the lease gets the $50 that is left for attempts that still fit.
        var refused = Renew(state, Open(60m, replica: "r2"));
        Assert.Equal((LeaseOutcome.DailyCapExceeded, 50m), (refused.Outcome, refused.CeilingUsd));
        Renew(state, Report(refused.LeaseId!, 2, charged: 0m, release: true));
        Renew(state, Report(id, 2, charged: 100m, release: true));
        Assert.Equal(100m, state.DailySpentUsd["2026-11-27"]);
        Assert.Equal(LeaseOutcome.Granted, Renew(state, Open(60m, replica: "r3")).Outcome);
        // Exactly at the cap is allowed; a cent more is not.
        Assert.Equal(LeaseOutcome.Granted, Renew(state, Open(40m, replica: "r4")).Outcome);
        Assert.Equal(LeaseOutcome.DailyCapExceeded, Renew(state, Open(0.01m, replica: "r5")).Outcome);
        // The monthly limit is named first when both refuse; a routine report that needs nothing is never refused.
        Assert.Equal(LeaseOutcome.LimitExceeded, Renew(state, Open(3000m, replica: "r6")).Outcome);
        Assert.Equal(LeaseOutcome.Granted, Renew(state, Open(0m, replica: "r6b")).Outcome);

        // Tomorrow starts a fresh day; leases still open ($100) may be spent tomorrow, so they count there too.
        Assert.Equal(LeaseOutcome.Granted, Renew(state, Open(100m, replica: "r7"), Now.AddDays(1)).Outcome);
        Assert.Equal(LeaseOutcome.DailyCapExceeded, Renew(state, Open(0.01m, replica: "r8"), Now.AddDays(1)).Outcome);
        Assert.Null(BudgetLedger.DailyCap("not-a-month", state));
        Assert.Null(BudgetLedger.DailyCap(Month, new BudgetState { LimitUsd = 1m }));
    }

    [Fact]
    public void Changed_says_exactly_when_the_ledger_must_be_written()
    {
        // The grain writes storage only when Changed: a false "changed" loses a charge, a false
        // "unchanged" costs a write. Each kind of report below changes one thing, or nothing.
        var state = Ledger(10m);
        var opened = Renew(state, Open(0m));
        Assert.Equal((LeaseOutcome.Granted, 0m, true, false), (opened.Outcome, opened.CeilingUsd, opened.Changed, opened.Grew)); // a new lease, even an empty one
        var id = opened.LeaseId!;
        Assert.Equal(Now + Ttl, state.Leases[id].ExpiresAt);
        var grant = Renew(state, Report(id, 2, charged: 0m, need: 1m));
        Assert.Equal((true, true, 1m), (grant.Changed, grant.Grew, grant.CeilingUsd));

        var nothing = Renew(state, Report(id, 3, charged: 0m));
        Assert.Equal((false, false, 1m), (nothing.Changed, nothing.Grew, state.Leases[id].GrantedUsd));
        Assert.Equal(Now + Ttl, state.Leases[id].ExpiresAt); // a routine report only extends the lease in memory

        var charged = Renew(state, Report(id, 4, charged: 0.25m));
        Assert.Equal((true, false, 0.25m), (charged.Changed, charged.Grew, state.SpentUsd));
        var inFlight = Renew(state, Report(id, 5, charged: 0.25m, inFlight: 0.5m));
        Assert.Equal((true, false), (inFlight.Changed, inFlight.Grew));
        var shrunk = Renew(state, Report(id, 6, charged: 0.25m, inFlight: 0.5m, ceiling: 0.8m));
        Assert.Equal((true, false, 0.8m), (shrunk.Changed, shrunk.Grew, state.Leases[id].GrantedUsd));

        // The same sequence again is a repeat, whatever it says: ignored.
        var repeat = Renew(state, Report(id, 6, charged: 5m, inFlight: 0m, need: 3m));
        Assert.Equal((LeaseOutcome.Granted, false, false, 0.25m), (repeat.Outcome, repeat.Changed, repeat.Grew, state.SpentUsd));

        var released = Renew(state, Report(id, 7, charged: 0.5m, release: true));
        Assert.Equal((LeaseOutcome.Closed, true, false, 0.5m), (released.Outcome, released.Changed, released.Grew, state.SpentUsd));
        var releasedUnknown = Renew(state, new LeaseReport("r1", null, 1, 0m, 0m, 0m, 0m, 0m, Release: true));
        Assert.Equal((LeaseOutcome.Closed, false, false), (releasedUnknown.Outcome, releasedUnknown.Changed, releasedUnknown.Grew));
        Assert.Empty(state.Leases);
        var gone = Renew(state, Report(id, 8, charged: 0.6m));
        Assert.Equal((LeaseOutcome.Closed, false, false, 0.5m), (gone.Outcome, gone.Changed, gone.Grew, state.SpentUsd));
    }

    [Fact]
    public void A_late_report_reconciles_once_and_a_stale_one_is_ignored()
    {
        var state = Ledger(10m);
        var id = Renew(state, Open(2m)).LeaseId!;
        Renew(state, Report(id, 2, charged: 0.5m));
        BudgetLedger.ExpireDue(state, Now + Ttl);
        Assert.Equal(2m, state.SpentUsd);

        var stale = Renew(state, Report(id, 2, charged: 0.7m), Now.AddMinutes(1));
        Assert.Equal((LeaseOutcome.Closed, false, 2m), (stale.Outcome, stale.Changed, state.SpentUsd));
        var late = Renew(state, Report(id, 3, charged: 0.7m), Now.AddMinutes(1));
        Assert.Equal((LeaseOutcome.Closed, true, false, 0.7m), (late.Outcome, late.Changed, late.Grew, state.SpentUsd));
        Assert.Empty(state.Closed);
    }

    [Fact]
    public void Todays_room_counts_this_leases_attempts_in_flight_and_a_routine_report_past_the_cap_is_granted()
    {
        // $30 over November's 30 days with pacing factor 1: $1 today.
        var state = new BudgetState { LimitUsd = 30m, DailyPacingFactor = 1m };
        var id = Renew(state, Open(0.6m)).LeaseId!;
        // $0.6 in flight leaves $0.4 of today: $0.5 more does not fit.
        var refused = Renew(state, Report(id, 2, charged: 0m, inFlight: 0.6m, need: 0.5m));
        Assert.Equal((LeaseOutcome.DailyCapExceeded, 1.0m), (refused.Outcome, refused.CeilingUsd));
        Assert.Equal(1.0m, state.DailySpentUsd.GetValueOrDefault("2026-11-27") + BudgetLedger.Outstanding(state));

        // Providers billed more than was reserved: today's spend is past the cap. Reports that need nothing
        // still go through, and are not counted as refusals.
        var routine = Renew(state, Report(id, 3, charged: 1.5m));
        Assert.Equal(LeaseOutcome.Granted, routine.Outcome);
        Assert.Equal(1.5m, state.DailySpentUsd["2026-11-27"]);
        Assert.Equal(LeaseOutcome.DailyCapExceeded, Renew(state, Report(id, 4, charged: 1.5m, need: 0.01m)).Outcome);
    }

    [Fact]
    public void Closed_leases_are_kept_24_hours_and_the_newest_128()
    {
        var state = Ledger(1_000m);
        // 130 leases, each closing unreported one second after the previous one.
        for (var i = 0; i < 130; i++)
        {
            Renew(state, Open(1m, replica: $"r{i}"), Now.AddSeconds(i));
            BudgetLedger.ExpireDue(state, Now.AddSeconds(i) + Ttl);
        }

        Assert.Equal(BudgetLedger.ClosedLeaseCap, state.Closed.Count);
        // The two oldest went: every replica but r0 and r1 is still there.
        Assert.Equal(
            Enumerable.Range(2, 128).Select(i => $"r{i}").Order(StringComparer.Ordinal),
            state.Closed.Values.Select(c => c.ReplicaId).Order(StringComparer.Ordinal));

        var newest = state.Closed.Values.Max(c => c.ClosedAt);
        var oldest = state.Closed.Values.Min(c => c.ClosedAt);
        BudgetLedger.ExpireDue(state, oldest + BudgetLedger.ClosedLeaseRetention);
        Assert.Equal(128, state.Closed.Count); // exactly 24 h old is kept
        BudgetLedger.ExpireDue(state, oldest + BudgetLedger.ClosedLeaseRetention + TimeSpan.FromTicks(1));
        Assert.Equal(127, state.Closed.Count);
        BudgetLedger.ExpireDue(state, newest + BudgetLedger.ClosedLeaseRetention + TimeSpan.FromTicks(1));
        Assert.Empty(state.Closed);
        Assert.Equal(130m, state.SpentUsd); // dropping the record of a closed lease never changes what was charged
    }

    [Fact]
    public void With_a_zero_limit_every_alert_has_fired()
    {
        var state = new BudgetState { LimitUsd = 0m, AlertThresholds = [0.5m, 0.8m, 1.0m] };
        Assert.Equal(new[] { 0.5m, 0.8m, 1.0m }, BudgetLedger.NewAlerts(state));
    }

    [Fact]
    public void A_negative_amount_is_named_in_the_error()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Renew(Ledger(1m), Open(-1m)));
        Assert.Contains("must not be negative", error.Message, StringComparison.Ordinal);
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
        var a = Renew(state, Open(6m)).LeaseId!;
        Renew(state, Open(3m, replica: "r2"));
        Renew(state, Report(a, 2, charged: 1m, release: true));
        Assert.Equal(9m, state.PeakCommittedUsd);
        Assert.Equal(4m, state.SpentUsd + BudgetLedger.Outstanding(state));
    }

    [Fact]
    public void The_ledger_stays_bounded_however_many_requests_it_has_seen()
    {
        var state = Ledger(1_000_000m);
        var at = Now;
        for (var i = 0; i < 300; i++)
        {
            BudgetLedger.AddAudit(state, new BudgetAuditEntry(at, "admin", "set-limit", i, i + 1));
            var id = Renew(state, Open(1m, replica: $"r{i}"), at).LeaseId!;
            Renew(state, Report(id, 2, charged: 0.5m, inFlight: 0.1m, release: true), at); // closed with work in flight
            at = at.AddMinutes(1);
            BudgetLedger.ExpireDue(state, at);
        }

        Assert.Equal(BudgetLedger.AuditCap, state.Audit.Count);
        Assert.Equal(100, state.AuditTrimmed);
        Assert.Equal(300m, state.Audit[^1].To);
        Assert.Equal(BudgetLedger.ClosedLeaseCap, state.Closed.Count);
        Assert.Empty(state.Leases);
    }

    /// <summary>
    /// Random interleavings of what replicas and the ledger do: reserve (renewing when the lease has no
    /// room), settle, report, time passing (lease expiry), a replica crashing, and the limit lowered.
    /// The real <see cref="LeaseAccount"/> runs on the replica side. Settled costs never exceed their
    /// reservation here (the faults issue covers a provider billing more).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Spent_plus_outstanding_never_passes_the_limit_and_no_reported_charge_is_lost(int seed)
    {
        var random = new Random(seed);
        var state = Ledger(5m);
        var at = Now;
        var replicas = Enumerable.Range(0, 3).Select(i => new SimReplica($"r{i}")).ToList();
        var settledActual = 0m;      // every cost a replica settled, reported or not
        var lostInFlight = 0m;       // worst cases of attempts on replicas that crashed mid-call
        var ceilingOnLimit = state.LimitUsd; // the limit, or what was already committed when it was lowered
        var crashed = false;

        for (var step = 0; step < 3000; step++)
        {
            at = at.AddMilliseconds(random.Next(0, 120));
            var replica = replicas[random.Next(replicas.Count)];
            switch (random.Next(100))
            {
                case < 45:
                    var amount = random.Next(1, 40) / 100m;
                    if (!replica.Current.TryReserve(amount, at))
                    {
                        replica.Send(state, at, amount, release: false);
                    }

                    if (replica.Current.TryReserve(amount, at))
                    {
                        replica.Holds.Add(new BudgetHold(replica.Current, amount));
                    }

                    break;
                case < 75 when replica.Holds.Count > 0:
                    var hold = replica.Holds[random.Next(replica.Holds.Count)];
                    replica.Holds.Remove(hold);
                    var actual = Math.Round(hold.AmountUsd * random.Next(0, 101) / 100m, 4);
                    BudgetLeases.Settle(hold, actual);
                    settledActual += actual;
                    break;
                case < 93:
                    replica.Send(state, at, 0m, release: false);
                    break;
                case < 96:
                    at = at.AddSeconds(random.Next(1, 20)); // reports stall; leases may expire
                    BudgetLedger.ExpireDue(state, at);
                    break;
                case < 98:
                    crashed = true;
                    lostInFlight += replica.Holds.Sum(h => h.AmountUsd);
                    replicas[replicas.IndexOf(replica)] = new SimReplica($"{replica.Id}'");
                    break;
                default:
                    var lowered = Math.Round(state.LimitUsd * random.Next(50, 100) / 100m, 4);
                    ceilingOnLimit = Math.Max(lowered, state.SpentUsd + BudgetLedger.Outstanding(state));
                    state.LimitUsd = lowered;
                    break;
            }

            BudgetLedger.ExpireDue(state, at);
            var committed = state.SpentUsd + BudgetLedger.Outstanding(state);
            Assert.True(committed <= Math.Max(state.LimitUsd, ceilingOnLimit), $"step {step}: {committed} > {state.LimitUsd}");
            ceilingOnLimit = Math.Max(state.LimitUsd, Math.Min(ceilingOnLimit, committed));
            foreach (var r in replicas)
            {
                // A replica never starts more than its lease allows, and the ledger never counts a lease for less.
                var account = r.Current;
                Assert.True(account.ChargedUsd + account.InFlightUsd <= account.CeilingUsd || account.LeaseId is null);
                if (account.LeaseId is { } id && state.Leases.TryGetValue(id, out var lease))
                {
                    Assert.True(account.CeilingUsd <= lease.GrantedUsd, $"step {step}: replica ceiling {account.CeilingUsd} > granted {lease.GrantedUsd}");
                }
            }
        }

        // Everyone settles, reports and returns the lease; whatever a crashed replica held expires.
        foreach (var replica in replicas)
        {
            foreach (var hold in replica.Holds)
            {
                BudgetLeases.Settle(hold, hold.AmountUsd);
                settledActual += hold.AmountUsd;
            }

            replica.Holds.Clear();
            replica.Send(state, at, 0m, release: true);
        }

        at = at.AddMinutes(5);
        BudgetLedger.ExpireDue(state, at);
        Assert.Empty(state.Leases);
        Assert.True(state.SpentUsd >= settledActual, $"spent {state.SpentUsd} < settled {settledActual}");
        if (!crashed)
        {
            // No report is lost: with every replica alive, the ledger holds exactly what was charged,
            // once any lease that expired during a stall has been reconciled by a later report.
            Assert.Equal(settledActual + BudgetLedger.Unreconciled(state), state.SpentUsd);
        }
        else
        {
            Assert.True(state.SpentUsd <= settledActual + lostInFlight + BudgetLedger.Unreconciled(state) + 0.0001m);
        }
    }

    /// <summary>A replica's side of the protocol, the way <see cref="BudgetLeases"/> runs it, without the timers.</summary>
    private sealed class SimReplica(string id)
    {
        private readonly List<LeaseAccount> _retiring = [];

        public string Id { get; } = id;

        public LeaseAccount Current { get; private set; } = new();

        public List<BudgetHold> Holds { get; } = [];

        public void Send(BudgetState state, DateTimeOffset at, decimal need, bool release)
        {
            foreach (var retiring in _retiring.ToList())
            {
                retiring.Apply(ToGrant(Renew(state, retiring.NextReport(Id, 0m, 0m, release: true), at)), at);
                if (retiring.InFlightUsd == 0 && !retiring.HasNews)
                {
                    _retiring.Remove(retiring);
                }
            }

            for (var attempt = 0; attempt < 2; attempt++)
            {
                var account = Current;
                if (release)
                {
                    account.Seal();
                }

                var grant = ToGrant(Renew(state, account.NextReport(Id, need, 0.5m, release), at));
                account.Apply(grant, at);
                if (grant.Outcome != LeaseOutcome.Closed || release)
                {
                    return;
                }

                account.Seal();
                _retiring.Add(account);

                Current = new LeaseAccount();
            }
        }

        private static LeaseGrant ToGrant(BudgetLedger.RenewResult result) =>
            new(result.Outcome, result.LeaseId, result.CeilingUsd, Ttl, new BudgetStatus(Month, 0, 0, 0, [], 0, null, 0, 0));
    }
}
