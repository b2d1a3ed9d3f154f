using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Telemetry;

namespace Navigator.Api.Pipeline;

/// <summary>
/// How many input tokens an attempt reserves for: the o200k count times the provider's margin, plus its
/// chat-format overhead. The margin is the configured one (<c>providers:*:inputTokenMargin</c>) or, once a
/// provider has billed more input than that, the highest ratio it billed plus 5%: an under-reservation
/// raises the margin for every later attempt on this replica. It never falls back until the replica
/// restarts.
/// </summary>
public sealed partial class ReservationMargins(IOptionsMonitor<ProvidersOptions> providers, GatewayMetrics metrics, ILogger<ReservationMargins> logger)
{
    private const double Headroom = 1.05;
    private readonly ConcurrentDictionary<string, double> _learned = new(StringComparer.Ordinal);

    public double MarginOf(string provider) =>
        Math.Max(providers.CurrentValue.Get(provider).InputTokenMargin, _learned.GetValueOrDefault(provider));

    /// <summary>The input tokens to reserve for a prompt of <paramref name="estimatedTokens"/> (o200k).</summary>
    public long ReservedInputTokens(string provider, int estimatedTokens) =>
        (long)Math.Ceiling(estimatedTokens * MarginOf(provider)) + providers.CurrentValue.Get(provider).ChatOverheadTokens;

    /// <summary>
    /// An attempt's real cost came to more than its reservation: the charge stands (it is the provider's
    /// bill), and it is counted, logged and learned from.
    /// </summary>
    public void Underreserved(string provider, string model, decimal reservedUsd, decimal actualUsd, int estimatedTokens, long billedInputTokens)
    {
        metrics.RecordUnderreserved(provider);
        LogUnderreserved(logger, provider, model, actualUsd, reservedUsd, billedInputTokens, estimatedTokens);
        if (estimatedTokens > 0)
        {
            var ratio = (double)billedInputTokens / estimatedTokens * Headroom;
            _learned.AddOrUpdate(provider, ratio, (_, current) => Math.Max(current, ratio));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Provider} {Model} cost ${Actual} against a reservation of ${Reserved}: it billed {Billed} input tokens for an o200k count of {Estimated}; the input margin rises")]
    private static partial void LogUnderreserved(ILogger logger, string provider, string model, decimal actual, decimal reserved, long billed, int estimated);
}
