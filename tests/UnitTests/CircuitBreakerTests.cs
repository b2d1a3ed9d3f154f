using Navigator.Grains.Providers;

namespace Navigator.UnitTests;

public sealed class CircuitBreakerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static CircuitBreaker Breaker() => new(new CircuitBreakerOptions
    {
        WindowSize = 10,
        MinimumCalls = 4,
        FailureRateThreshold = 0.5,
        SlowCallMs = 1000,
        OpenMs = 1000,
        MaxOpenMs = 5000,
        HalfOpenProbes = 2,
        ProbeTimeoutMs = 3000,
    });

    private static ProviderCallOutcome Call(ProviderCallKind kind, double latencyMs = 50, TimeSpan? retryAfter = null, bool probe = false) =>
        new(kind, latencyMs, T0, retryAfter, probe);

    [Fact]
    public void Opens_only_once_the_minimum_number_of_calls_shows_the_threshold()
    {
        var breaker = Breaker();
        for (var i = 0; i < 3; i++)
        {
            Assert.False(breaker.Record(Call(ProviderCallKind.ServerError), T0));
        }

        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.True(breaker.Record(Call(ProviderCallKind.Timeout), T0));
        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.Equal(T0.AddSeconds(1), breaker.OpenUntil);
    }

    [Fact]
    public void Stays_closed_below_the_failure_rate()
    {
        var breaker = Breaker();
        foreach (var kind in new[] { ProviderCallKind.Success, ProviderCallKind.ServerError, ProviderCallKind.Success, ProviderCallKind.Success, ProviderCallKind.RateLimited, ProviderCallKind.Success })
        {
            breaker.Record(Call(kind), T0);
        }

        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.Equal(2 / 6.0, breaker.WindowFailureRate, 6);
    }

    [Theory]
    [InlineData(ProviderCallKind.ServerError, 50, true)]
    [InlineData(ProviderCallKind.Timeout, 50, true)]
    [InlineData(ProviderCallKind.RateLimited, 50, true)]
    [InlineData(ProviderCallKind.MalformedResponse, 50, true)]
    [InlineData(ProviderCallKind.AuthFailure, 50, true)]
    [InlineData(ProviderCallKind.ClientError, 50, false)]
    [InlineData(ProviderCallKind.Success, 50, false)]
    [InlineData(ProviderCallKind.Success, 1500, true)]
    [InlineData(ProviderCallKind.Success, 1000, false)] // exactly SlowCallMs is not slow
    [InlineData(ProviderCallKind.Success, 1000.5, true)]
    public void Classifies_what_counts_as_a_failure(ProviderCallKind kind, double latencyMs, bool failure)
    {
        Assert.Equal(failure, Breaker().IsFailure(Call(kind, latencyMs)));
    }

    [Fact]
    public void Client_errors_never_open_it_but_a_401_opens_it_at_once()
    {
        var breaker = Breaker();
        for (var i = 0; i < 10; i++)
        {
            breaker.Record(Call(ProviderCallKind.ClientError), T0);
        }

        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.True(breaker.Record(Call(ProviderCallKind.AuthFailure), T0));
        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.Contains("credentials", breaker.LastTripReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Half_open_admits_a_bounded_number_of_probes_and_a_success_closes_it()
    {
        var breaker = OpenBreaker();
        Assert.Equal((false, false), breaker.TryAcquireProbe(T0.AddMilliseconds(999)));

        var later = T0.AddSeconds(1);
        Assert.Equal((true, true), breaker.TryAcquireProbe(later));
        Assert.Equal(CircuitState.HalfOpen, breaker.State);
        Assert.True(breaker.TryAcquireProbe(later).Granted);
        Assert.False(breaker.TryAcquireProbe(later).Granted);
        Assert.Equal(2, breaker.ProbesInFlight);

        Assert.True(breaker.Record(Call(ProviderCallKind.Success, probe: true), later));
        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.Equal(0, breaker.WindowCalls);
        Assert.Null(breaker.OpenUntil);
    }

    [Fact]
    public void A_failed_probe_reopens_with_a_doubled_period_up_to_the_maximum()
    {
        var breaker = OpenBreaker();
        var now = T0;
        var periods = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            now = breaker.OpenUntil!.Value;
            Assert.True(breaker.TryAcquireProbe(now).Granted);
            breaker.Record(Call(ProviderCallKind.ServerError, probe: true), now);
            periods.Add((breaker.OpenUntil!.Value - now).TotalMilliseconds);
        }

        Assert.Equal([2000, 4000, 5000, 5000, 5000], periods);
    }

    [Fact]
    public void A_429_retry_after_longer_than_the_period_sets_the_open_period()
    {
        var breaker = Breaker();
        for (var i = 0; i < 4; i++)
        {
            breaker.Record(Call(ProviderCallKind.RateLimited, retryAfter: TimeSpan.FromSeconds(3)), T0);
        }

        Assert.Equal(T0.AddSeconds(3), breaker.OpenUntil);
    }

    [Fact]
    public void Probe_permits_never_reported_back_are_reclaimed()
    {
        var breaker = OpenBreaker();
        var start = T0.AddSeconds(1);
        breaker.TryAcquireProbe(start);
        breaker.TryAcquireProbe(start);
        Assert.False(breaker.TryAcquireProbe(start.AddSeconds(2)).Granted);
        Assert.True(breaker.TryAcquireProbe(start.AddSeconds(4)).Granted);
    }

    [Fact]
    public void Calls_in_flight_when_it_opened_change_nothing()
    {
        var breaker = OpenBreaker();
        var until = breaker.OpenUntil;
        Assert.False(breaker.Record(Call(ProviderCallKind.Success), T0));
        Assert.Equal((CircuitState.Open, until), (breaker.State, breaker.OpenUntil));
    }

    [Fact]
    public void Forced_modes_override_the_state()
    {
        var breaker = OpenBreaker();
        breaker.Mode = CircuitMode.ForceClosed;
        Assert.True(breaker.TryAcquireProbe(T0).Granted);
        breaker.Mode = CircuitMode.ForceOpen;
        Assert.False(breaker.TryAcquireProbe(T0.AddMinutes(5)).Granted);

        var snapshot = new CircuitSnapshot("openai", CircuitState.Closed, CircuitMode.ForceOpen, null, 0, 0, 0, 0, 0, 0, null, null, null, 1);
        Assert.Equal(CircuitState.Open, snapshot.EffectiveState(T0));
        Assert.Equal(CircuitState.Closed, (snapshot with { Mode = CircuitMode.ForceClosed, State = CircuitState.Open }).EffectiveState(T0));
        Assert.Equal(CircuitState.HalfOpen, (snapshot with { Mode = CircuitMode.Auto, State = CircuitState.Open, OpenUntil = T0 }).EffectiveState(T0));
    }

    [Fact]
    public void Opens_at_exactly_the_failure_rate_threshold()
    {
        var breaker = Breaker();
        Assert.Equal(0, breaker.WindowFailureRate); // an empty window has no failures, not NaN
        foreach (var kind in new[] { ProviderCallKind.Success, ProviderCallKind.ServerError, ProviderCallKind.Success })
        {
            Assert.False(breaker.Record(Call(kind), T0));
        }

        // 2 failures in 4 calls: exactly the 50% threshold, at exactly the minimum number of calls.
        Assert.True(breaker.Record(Call(ProviderCallKind.Timeout), T0));
        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.Equal("failure rate 50% over 4 calls", breaker.LastTripReason!.Replace("\u00a0", " ", StringComparison.Ordinal).Replace(" %", "%", StringComparison.Ordinal));
    }

    [Fact]
    public void Counts_every_call_and_every_failure_and_keeps_exactly_the_window()
    {
        var breaker = Breaker();
        // 13 calls, every third a failure (calls 3, 6, 9, 12): the rate stays under the threshold.
        for (var i = 1; i <= 13; i++)
        {
            breaker.Record(Call(i % 3 == 0 ? ProviderCallKind.ServerError : ProviderCallKind.Success), T0);
        }

        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.Equal((13L, 4L), (breaker.Calls, breaker.Failures));
        // The window holds the last 10 calls (4..13), with 3 failures among them.
        Assert.Equal(10, breaker.WindowCalls);
        Assert.Equal(0.3, breaker.WindowFailureRate, 6);
    }

    [Fact]
    public void A_permit_is_held_for_exactly_the_probe_timeout()
    {
        var breaker = OpenBreaker();
        var start = T0.AddSeconds(1);
        Assert.True(breaker.TryAcquireProbe(start).Granted);
        Assert.True(breaker.TryAcquireProbe(start).Granted);
        Assert.False(breaker.TryAcquireProbe(start.AddMilliseconds(3000)).Granted);
        Assert.True(breaker.TryAcquireProbe(start.AddMilliseconds(3001)).Granted);
    }

    [Fact]
    public void A_probes_outcome_ends_half_open_and_drops_every_permit()
    {
        var failed = OpenBreaker();
        Assert.Equal((true, true), failed.TryAcquireProbe(T0.AddSeconds(1)));
        Assert.Equal((true, false), failed.TryAcquireProbe(T0.AddSeconds(1)));
        Assert.Equal(2, failed.ProbesInFlight);
        Assert.True(failed.Record(Call(ProviderCallKind.ServerError, probe: true), T0.AddSeconds(1)));
        Assert.Equal((CircuitState.Open, 0), (failed.State, failed.ProbesInFlight));
        Assert.Equal("probe failed: ServerError", failed.LastTripReason);

        var succeeded = OpenBreaker();
        succeeded.TryAcquireProbe(T0.AddSeconds(1));
        succeeded.TryAcquireProbe(T0.AddSeconds(1));
        Assert.True(succeeded.Record(Call(ProviderCallKind.Success, probe: true), T0.AddSeconds(1)));
        Assert.Equal((CircuitState.Closed, 0, 0), (succeeded.State, succeeded.ProbesInFlight, succeeded.WindowCalls));
    }

    [Fact]
    public void A_closed_breaker_grants_without_a_permit_and_forced_modes_change_no_state()
    {
        var breaker = Breaker();
        Assert.Equal((true, false), breaker.TryAcquireProbe(T0));
        Assert.Equal(0, breaker.ProbesInFlight);

        var open = OpenBreaker();
        open.Mode = CircuitMode.ForceClosed;
        Assert.Equal((true, false), open.TryAcquireProbe(T0.AddMinutes(5)));
        open.Mode = CircuitMode.ForceOpen;
        Assert.Equal((false, false), open.TryAcquireProbe(T0.AddMinutes(5)));
        Assert.Equal(CircuitState.Open, open.State);
    }

    [Fact]
    public void Reset_closes_it_and_forgets_its_openings()
    {
        var breaker = OpenBreaker();
        breaker.TryAcquireProbe(T0.AddSeconds(1));
        breaker.Record(Call(ProviderCallKind.ServerError, probe: true), T0.AddSeconds(1));
        Assert.Equal(2, breaker.ConsecutiveOpenings);

        breaker.Reset();

        Assert.Equal((CircuitState.Closed, null, 0, 0), (breaker.State, breaker.OpenUntil, breaker.ConsecutiveOpenings, breaker.WindowCalls));
    }

    [Fact]
    public void Unknown_errors_never_open_it_and_an_unknown_probe_outcome_only_returns_its_permit()
    {
        var breaker = Breaker();
        for (var i = 0; i < 10; i++)
        {
            Assert.False(breaker.Record(Call(ProviderCallKind.Unknown), T0));
        }

        Assert.Equal((CircuitState.Closed, 0, 10L, 0L), (breaker.State, breaker.WindowCalls, breaker.Calls, breaker.Failures));

        var halfOpen = OpenBreaker();
        Assert.True(halfOpen.TryAcquireProbe(T0.AddSeconds(1)).Granted);
        Assert.True(halfOpen.TryAcquireProbe(T0.AddSeconds(1)).Granted);
        Assert.False(halfOpen.Record(Call(ProviderCallKind.Unknown, probe: true), T0.AddSeconds(1)));
        Assert.Equal((CircuitState.HalfOpen, 1), (halfOpen.State, halfOpen.ProbesInFlight));
        Assert.True(halfOpen.TryAcquireProbe(T0.AddSeconds(1)).Granted);
    }

    [Fact]
    public void A_released_permit_lets_the_next_probe_through_at_once()
    {
        var breaker = OpenBreaker();
        Assert.True(breaker.TryAcquireProbe(T0.AddSeconds(1)).Granted);
        Assert.True(breaker.TryAcquireProbe(T0.AddSeconds(1)).Granted);
        Assert.False(breaker.TryAcquireProbe(T0.AddSeconds(1)).Granted);
        breaker.ReleaseProbe();
        Assert.Equal(1, breaker.ProbesInFlight);
        Assert.True(breaker.TryAcquireProbe(T0.AddSeconds(1)).Granted);
        breaker.ReleaseProbe();
        breaker.ReleaseProbe();
        breaker.ReleaseProbe(); // more releases than permits change nothing
        Assert.Equal(0, breaker.ProbesInFlight);
    }

    private static CircuitBreaker OpenBreaker()
    {
        var breaker = Breaker();
        for (var i = 0; i < 4; i++)
        {
            breaker.Record(Call(ProviderCallKind.ServerError), T0);
        }

        Assert.Equal(CircuitState.Open, breaker.State);
        return breaker;
    }
}
