using System.Diagnostics.Metrics;
using Navigator.Api.Telemetry;
using Navigator.Grains.Budget;

namespace Navigator.Api.Pipeline;

/// <summary>
/// This replica's latest view of the month's budget, taken from every reservation and settlement
/// result (no extra grain calls). It drives the soft-limit policy and the budget gauges.
/// </summary>
public sealed class BudgetMonitor
{
    private BudgetStatus? _latest;

    public BudgetMonitor(IMeterFactory meters)
    {
        var meter = meters.Create(GatewayMetrics.MeterName);
        meter.CreateObservableGauge("navigator.budget.remaining_usd", () => Measure(s => s.RemainingUsd),
            description: "Monthly budget not yet spent or reserved, in US dollars, as last seen by this replica.");
        meter.CreateObservableGauge("navigator.budget.utilization", () => Measure(s => s.Utilization),
            description: "Share of the monthly limit spent or reserved, as last seen by this replica.");
    }

    public BudgetStatus? Latest => Volatile.Read(ref _latest);

    /// <summary>Keeps the status with the most spend for the newest month: results can arrive out of order.</summary>
    public void Observe(BudgetStatus status)
    {
        while (true)
        {
            var current = Volatile.Read(ref _latest);
            var newer = current is null
                || string.CompareOrdinal(status.Month, current.Month) > 0
                || (status.Month == current.Month && (status.SpentUsd >= current.SpentUsd || status.LimitUsd != current.LimitUsd
                    || status.DailyCapUsd != current.DailyCapUsd));
            if (!newer || Interlocked.CompareExchange(ref _latest, status, current) == current)
            {
                return;
            }
        }
    }

    /// <summary>Share of the month's limit committed, or null when this replica has not seen that month yet.</summary>
    public decimal? Utilization(string month) => Latest is { } s && s.Month == month ? s.Utilization : null;

    private IEnumerable<Measurement<double>> Measure(Func<BudgetStatus, decimal> value) =>
        Latest is { } s ? [new Measurement<double>((double)value(s), new KeyValuePair<string, object?>("month", s.Month))] : [];
}
