using Navigator.Api.Pipeline;
using Navigator.Grains.Stats;

namespace Navigator.Api.Telemetry;

/// <summary>
/// Counts every request's outcome, latency, tokens and cost per minute and provider on this replica, and sends
/// them to the hour's <see cref="IGatewayStatsGrain"/> once a second, for <c>GET /admin/stats</c>.
/// </summary>
public sealed class StatsReporter(IGrainFactory grains, BudgetLeases leases, ILogger<StatsReporter> logger)
    : BatchReporter<StatsSlot, StatsFigures>(leases, logger)
{
    private HourKey? _hour;

    public void Record(RequestTelemetry request)
    {
        var slot = StatsSlot.Of(request.Timestamp, request.Provider);
        Add(HourOf(slot.Minute), slot, f => f.AddRequest(
            request.Outcome.Label(), request.LatencyMs, request.InputTokens, request.OutputTokens, request.CostUsd, request.Cached, request.Failover));
    }

    /// <summary>The hour's grain key, formatted once an hour rather than once a request.</summary>
    private string HourOf(DateTime minute)
    {
        var start = minute.AddMinutes(-minute.Minute);
        if (Volatile.Read(ref _hour) is not { } hour || hour.Start != start)
        {
            Volatile.Write(ref _hour, hour = new HourKey(start, StatsSlot.HourKey(start)));
        }

        return hour.Key;
    }

    private sealed record HourKey(DateTime Start, string Key);

    protected override Task SendAsync(string grainKey, string replicaId, long sequence, IReadOnlyDictionary<StatsSlot, StatsFigures> items) =>
        grains.GetGrain<IGatewayStatsGrain>(grainKey).RecordAsync(new StatsBatch(replicaId, sequence, items));
}
