using System.Diagnostics.Metrics;

namespace Navigator.Grains.Budget;

/// <summary>Silo-side budget instruments (meter "Navigator.Budget"), exported on the silo's /metrics.</summary>
public sealed class BudgetMetrics
{
    public const string MeterName = "Navigator.Budget";

    private readonly Counter<long> _alerts;
    private readonly Counter<long> _expired;
    private readonly Histogram<int> _batch;

    public BudgetMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _alerts = meter.CreateCounter<long>("navigator.budget.alerts", description: "Budget alerts fired, by threshold (share of the monthly limit spent).");
        _expired = meter.CreateCounter<long>("navigator.budget.expired_leases", description: "Leases closed at expiry because their replica stopped reporting; what they set aside was charged.");
        _batch = meter.CreateHistogram<int>("navigator.budget.commit_batch_size", description: "Ledger changes made durable by one storage write.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] });
    }

    public void Alert(string month, decimal threshold) =>
        _alerts.Add(1, new KeyValuePair<string, object?>("month", month), new KeyValuePair<string, object?>("threshold", (double)threshold));

    public void Expired(int count) => _expired.Add(count);

    public void Committed(int batchSize) => _batch.Record(batchSize);
}

/// <summary>How long the month's ledger keeps a lease without a report (config section "budgetLeases").</summary>
public sealed class BudgetLeaseOptions
{
    public const string Section = "budgetLeases";

    /// <summary>
    /// A lease not renewed for this long is closed and what it set aside but never reported is charged.
    /// Replicas report every 250 ms and stop using a lease a third of this before it would expire.
    /// </summary>
    public int LeaseTtlSeconds { get; set; } = 15;

    public TimeSpan LeaseTtl => TimeSpan.FromSeconds(Math.Clamp(LeaseTtlSeconds, 3, 3600));
}
