using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Telemetry;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Keeps the rolling average of output tokens near the feature's target: while the average of
/// the last <see cref="TokenLimiterOptions.RollingWindow"/> responses is above the target,
/// max_tokens is scaled down by target/average, never below the target itself.
/// </summary>
public sealed class OutputTokenGovernor
{
    private readonly IOptionsMonitor<TokenLimiterOptions> _options;
    private readonly Lock _gate = new();
    private readonly Queue<int> _window = new();
    private long _sum;
    private int _lastLimit;

    public OutputTokenGovernor(IOptionsMonitor<TokenLimiterOptions> options, IMeterFactory meters)
    {
        _options = options;
        var meter = meters.Create(GatewayMetrics.MeterName);
        meter.CreateObservableGauge<double>("navigator.output_tokens.rolling_average", () => RollingAverage is { } a ? [new Measurement<double>(a)] : [],
            description: "Average output tokens over the recent responses of this replica.");
        meter.CreateObservableGauge<int>("navigator.max_tokens.effective", () => Volatile.Read(ref _lastLimit) is > 0 and var l ? [new Measurement<int>(l)] : [],
            description: "The max_tokens most recently sent, after tightening.");
    }

    public double? RollingAverage
    {
        get
        {
            lock (_gate)
            {
                return _window.Count == 0 ? null : (double)_sum / _window.Count;
            }
        }
    }

    public int MaxTokens(int configuredMax, int target)
    {
        var average = RollingAverage;
        var limit = average is { } avg && avg > target
            ? Math.Clamp((int)(configuredMax * target / avg), Math.Min(target, configuredMax), configuredMax)
            : configuredMax;
        Volatile.Write(ref _lastLimit, limit);
        return limit;
    }

    public void Record(int outputTokens)
    {
        lock (_gate)
        {
            _window.Enqueue(outputTokens);
            _sum += outputTokens;
            while (_window.Count > _options.CurrentValue.RollingWindow)
            {
                _sum -= _window.Dequeue();
            }
        }
    }
}
