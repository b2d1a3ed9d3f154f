namespace Navigator.Grains.Providers;

/// <summary>Breaker settings (silo configuration section "providers:circuitBreaker").</summary>
public sealed class CircuitBreakerOptions
{
    public const string Section = "providers:circuitBreaker";

    /// <summary>The failure rate is taken over this many most recent calls.</summary>
    public int WindowSize { get; set; } = 20;

    /// <summary>No decision is taken on fewer calls than this.</summary>
    public int MinimumCalls { get; set; } = 5;

    /// <summary>Open when the window's failure rate reaches this share.</summary>
    public double FailureRateThreshold { get; set; } = 0.5;

    /// <summary>A successful call slower than this counts as a failure.</summary>
    public int SlowCallMs { get; set; } = 2000;

    /// <summary>The first open period; each failed probe doubles it, up to <see cref="MaxOpenMs"/>.</summary>
    public int OpenMs { get; set; } = 5000;

    public int MaxOpenMs { get; set; } = 60_000;

    /// <summary>How many probe calls the whole cluster may have in flight while half-open.</summary>
    public int HalfOpenProbes { get; set; } = 2;

    /// <summary>A probe permit not reported back within this time is reclaimed.</summary>
    public int ProbeTimeoutMs { get; set; } = 10_000;
}

/// <summary>
/// The breaker's state machine, apart from the grain so it can be tested exhaustively.
/// Closed → Open when the sliding window's failure rate reaches the threshold (with a minimum
/// number of calls), at once on 401/403. Open → half-open when the open period ends: a bounded
/// number of probes go through; a successful probe closes the breaker, a failed one reopens it
/// with a doubled period. A 429's Retry-After sets the open period when it is longer.
/// </summary>
public sealed class CircuitBreaker(CircuitBreakerOptions options)
{
    private readonly Queue<bool> _window = new();
    private readonly List<DateTimeOffset> _probes = [];

    public CircuitState State { get; private set; } = CircuitState.Closed;
    public CircuitMode Mode { get; set; } = CircuitMode.Auto;
    public DateTimeOffset? OpenUntil { get; private set; }
    public int ConsecutiveOpenings { get; private set; }
    public long Calls { get; private set; }
    public long Failures { get; private set; }
    public ProviderCallKind? LastOutcome { get; private set; }
    public DateTimeOffset? LastCallAt { get; private set; }
    public string? LastTripReason { get; private set; }
    public int ProbesInFlight => _probes.Count;
    public int WindowCalls => _window.Count;
    public double WindowFailureRate => _window.Count == 0 ? 0 : _window.Count(f => f) / (double)_window.Count;

    public bool IsFailure(ProviderCallOutcome outcome) => outcome.Kind switch
    {
        ProviderCallKind.Success => outcome.LatencyMs > options.SlowCallMs,
        ProviderCallKind.ClientError => false, // the request's fault, not the provider's
        ProviderCallKind.Unknown => false, // not known to be the provider's: never trips the circuit
        _ => true,
    };

    /// <summary>Records an outcome. Returns true when the state changed.</summary>
    public bool Record(ProviderCallOutcome outcome, DateTimeOffset now)
    {
        var failed = IsFailure(outcome);
        Calls++;
        Failures += failed ? 1 : 0;
        LastOutcome = outcome.Kind;
        LastCallAt = outcome.At;

        if (outcome.Kind == ProviderCallKind.Unknown)
        {
            // It says nothing about the provider: a probe's permit goes back, and the state stays as it is.
            if (outcome.IsProbe)
            {
                ReleaseProbe();
            }

            return false;
        }

        // Permits exist only while half-open, and any other probe outcome ends half-open either way (Open
        // and Close drop every permit), so it never needs to return one.
        switch (State)
        {
            case CircuitState.HalfOpen when outcome.IsProbe:
                if (failed)
                {
                    Open(now, outcome, $"probe failed: {outcome.Kind}");
                }
                else
                {
                    Close();
                }

                return true;
            case CircuitState.Closed:
                _window.Enqueue(failed);
                while (_window.Count > options.WindowSize)
                {
                    _window.Dequeue();
                }

                if (outcome.Kind == ProviderCallKind.AuthFailure)
                {
                    Open(now, outcome, "credentials rejected (401/403)");
                    return true;
                }

                if (_window.Count >= options.MinimumCalls && WindowFailureRate >= options.FailureRateThreshold)
                {
                    Open(now, outcome, $"failure rate {WindowFailureRate:P0} over {_window.Count} calls");
                    return true;
                }

                return false;
            default:
                // Calls that were in flight when the breaker opened change nothing.
                return false;
        }
    }

    /// <summary>Grants a probe if the open period is over and fewer than the bound are in flight. Returns (granted, state changed).</summary>
    public (bool Granted, bool Changed) TryAcquireProbe(DateTimeOffset now)
    {
        if (Mode != CircuitMode.Auto)
        {
            return (Mode == CircuitMode.ForceClosed, false);
        }

        var changed = false;
        if (State == CircuitState.Open && OpenUntil <= now)
        {
            State = CircuitState.HalfOpen; // Open() left no permits behind
            changed = true;
        }

        if (State == CircuitState.Closed)
        {
            return (true, changed);
        }

        if (State != CircuitState.HalfOpen)
        {
            return (false, changed);
        }

        _probes.RemoveAll(granted => now - granted > TimeSpan.FromMilliseconds(options.ProbeTimeoutMs));
        if (_probes.Count >= options.HalfOpenProbes)
        {
            return (false, changed);
        }

        _probes.Add(now);
        return (true, changed);
    }

    /// <summary>Returns a permit whose call never reached the provider, so another probe can go at once.</summary>
    public void ReleaseProbe()
    {
        if (_probes.Count > 0)
        {
            _probes.RemoveAt(_probes.Count - 1);
        }
    }

    public void Reset()
    {
        Close();
        ConsecutiveOpenings = 0;
    }

    private void Open(DateTimeOffset now, ProviderCallOutcome outcome, string reason)
    {
        var period = Math.Min(options.MaxOpenMs, options.OpenMs * Math.Pow(2, ConsecutiveOpenings));
        if (outcome.RetryAfter is { } retryAfter && retryAfter.TotalMilliseconds > period)
        {
            period = Math.Min(options.MaxOpenMs, retryAfter.TotalMilliseconds);
        }

        State = CircuitState.Open;
        OpenUntil = now + TimeSpan.FromMilliseconds(period);
        ConsecutiveOpenings++;
        LastTripReason = reason;
        _probes.Clear();
    }

    private void Close()
    {
        State = CircuitState.Closed;
        OpenUntil = null;
        ConsecutiveOpenings = 0;
        _window.Clear();
        _probes.Clear();
    }
}
