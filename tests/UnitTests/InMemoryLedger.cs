using Navigator.Grains.Budget;

namespace Navigator.UnitTests;

/// <summary>
/// A month's ledger in memory: <see cref="BudgetLedger"/>, the grain's own arithmetic, without storage, on a
/// clock of the test's choosing. It records every report it was sent.
/// </summary>
public sealed class InMemoryLedger(string month, decimal limit, TimeProvider? time = null) : IBudgetGrain
{
    public static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(15);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public BudgetState State { get; } = new() { LimitUsd = limit };

    public List<LeaseReport> Reports { get; } = [];

    /// <summary>Runs before each report is handled (e.g. to hold a renewal while requests pile up).</summary>
    public Func<Task>? BeforeReport { get; set; }

    public async Task<LeaseGrant> RenewLeaseAsync(LeaseReport report)
    {
        if (BeforeReport is { } wait)
        {
            await wait();
        }

        lock (State)
        {
            Reports.Add(report);
            var now = _time.GetUtcNow();
            var result = BudgetLedger.Renew(month, State, report, now, LeaseTtl, () => Guid.NewGuid().ToString("N"));
            return new LeaseGrant(result.Outcome, result.LeaseId, result.CeilingUsd, LeaseTtl, BudgetLedger.Status(month, State, now));
        }
    }

    public Task<BudgetStatus> GetStatusAsync() => Task.FromResult(BudgetLedger.Status(month, State, _time.GetUtcNow()));

    public Task<BudgetStatus> SetLimitAsync(decimal limitUsd, decimal? dailyPacingFactor, string actor) => throw new NotSupportedException();

    public Task<IReadOnlyList<BudgetAuditEntry>> GetAuditAsync() => throw new NotSupportedException();
}
