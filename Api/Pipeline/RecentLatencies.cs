using System.Collections.Concurrent;
using MathNet.Numerics.Statistics;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Each provider's recent answering time on this replica: the last <see cref="Window"/> successful attempts, and
/// their p95 (MathNet.Numerics' percentile), recomputed every <see cref="RecomputeEvery"/> answers so that reading
/// it on the request path is one field read. The hedging delay uses it (<see cref="ProviderFailoverChatClient"/>).
/// </summary>
public sealed class RecentLatencies
{
    public const int Window = 256;
    public const int RecomputeEvery = 16;

    /// <summary>Fewer answers than this say nothing about a p95.</summary>
    public const int MinimumSamples = 32;

    private readonly ConcurrentDictionary<string, Samples> _providers = new(StringComparer.Ordinal);

    public void Record(string provider, double milliseconds) => _providers.GetOrAdd(provider, _ => new Samples()).Add(milliseconds);

    /// <summary>The provider's p95 over its recent answers, or null before <see cref="MinimumSamples"/> of them.</summary>
    public TimeSpan? P95(string provider) =>
        _providers.TryGetValue(provider, out var samples) && samples.P95 is { } p95 ? TimeSpan.FromMilliseconds(p95) : null;

    private sealed class Samples
    {
        private readonly double[] _ring = new double[Window];
        private readonly Lock _lock = new();
        private long _count;
        private double _p95 = double.NaN; // a double is read whole; a double? could be read torn

        public double? P95 => Volatile.Read(ref _p95) is var p95 && double.IsNaN(p95) ? null : p95;

        public void Add(double milliseconds)
        {
            lock (_lock)
            {
                _ring[_count % Window] = milliseconds;
                _count++;
                if (_count >= MinimumSamples && (_count == MinimumSamples || _count % RecomputeEvery == 0))
                {
                    // QuantileInplace reorders its array: it gets a copy of the window.
                    Volatile.Write(ref _p95, ArrayStatistics.QuantileInplace(_ring[..(int)Math.Min(_count, Window)], 0.95));
                }
            }
        }
    }
}
