using Navigator.Grains.Budget;

namespace Navigator.Testing;

/// <summary>Drives the month's lease protocol directly, as one replica would.</summary>
public sealed class TestLease(IBudgetGrain budget, string replicaId = "test-replica")
{
    private IBudgetGrain _budget = budget;
    private long _sequence;

    /// <summary>Talks to the ledger through another client from now on (the first one stopped with its silo).</summary>
    public TestLease Through(IBudgetGrain grain)
    {
        _budget = grain;
        return this;
    }

    public string? LeaseId { get; private set; }

    public decimal Charged { get; private set; }

    /// <summary>Opens (or grows) the lease by exactly <paramref name="needUsd"/> of headroom.</summary>
    public async Task<LeaseGrant> NeedAsync(decimal needUsd, decimal inFlightUsd = 0m)
    {
        var grant = await _budget.RenewLeaseAsync(new LeaseReport(replicaId, LeaseId, ++_sequence, Charged, inFlightUsd, decimal.MaxValue, needUsd, 0m));
        LeaseId = grant.LeaseId ?? LeaseId;
        return grant;
    }

    /// <summary>Reports <paramref name="chargedUsd"/> more charged; releases the lease when asked.</summary>
    public Task<LeaseGrant> ReportAsync(decimal chargedUsd, decimal inFlightUsd = 0m, bool release = false)
    {
        Charged += chargedUsd;
        return _budget.RenewLeaseAsync(new LeaseReport(replicaId, LeaseId, ++_sequence, Charged, inFlightUsd,
            release ? Charged + inFlightUsd : decimal.MaxValue, 0m, 0m, release));
    }

    /// <summary>Sends the last report again, as a retry would.</summary>
    public Task<LeaseGrant> RepeatAsync() =>
        _budget.RenewLeaseAsync(new LeaseReport(replicaId, LeaseId, _sequence, Charged, 0m, decimal.MaxValue, 0m, 0m));
}
