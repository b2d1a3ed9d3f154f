using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Utilities;

namespace Navigator.Grains.Providers;

[GenerateSerializer, Alias("Navigator.ProviderHealthState")]
public sealed class ProviderHealthState
{
    /// <summary>An operator's forceOpen/forceClosed outlives restarts; the live window does not need to.</summary>
    [Id(0)] public CircuitMode Mode { get; set; }

    /// <summary>When the circuit opened: the last <see cref="ProviderHealthGrain.TripCapacity"/>, none older than 31 days.</summary>
    [Id(1)] public List<DateTimeOffset> Trips { get; set; } = [];
}

/// <summary>
/// One provider's breaker for the whole cluster. The sliding window lives in memory: it is a live
/// signal, and a fresh activation starting closed and learning again is the right behaviour.
/// The operator's mode is persisted. Every state change is pushed to subscribed API replicas.
/// </summary>
public sealed partial class ProviderHealthGrain : Grain, IProviderHealthGrain
{
    public const int TripCapacity = 1000;
    private static readonly TimeSpan TripRetention = TimeSpan.FromDays(31);

    private static readonly TimeSpan ObserverExpiry = TimeSpan.FromSeconds(60);

    private readonly IPersistentState<ProviderHealthState> _state;
    private readonly CircuitBreaker _breaker;
    private readonly ObserverManager<ICircuitObserver> _observers;
    private readonly ProviderHealthMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<ProviderHealthGrain> _logger;
    private long _revision;

    public ProviderHealthGrain(
        [PersistentState("providerHealth", "config")] IPersistentState<ProviderHealthState> state,
        IOptions<CircuitBreakerOptions> options,
        ProviderHealthMetrics metrics,
        [FromKeyedServices(LedgerClock.Key)] TimeProvider time,
        ILogger<ProviderHealthGrain> logger)
    {
        _state = state;
        _breaker = new CircuitBreaker(options.Value);
        _observers = new ObserverManager<ICircuitObserver>(ObserverExpiry, logger);
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    private string Provider => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _breaker.Mode = _state.State.Mode;
        return Task.CompletedTask;
    }

    public async Task RecordBatchAsync(IReadOnlyList<ProviderCallOutcome> outcomes)
    {
        var changed = false;
        var tripped = false;
        foreach (var outcome in outcomes)
        {
            var before = _breaker.State;
            if (!_breaker.Record(outcome, _time.GetUtcNow()))
            {
                continue;
            }

            changed = true;
            if (_breaker.State == CircuitState.Open)
            {
                _metrics.Tripped(Provider, outcome.Kind);
                _state.State.Trips.Add(_time.GetUtcNow());
                tripped = true;
                if (outcome.Kind == ProviderCallKind.AuthFailure)
                {
                    LogCredentialsAlert(Provider);
                }

                LogOpened(Provider, _breaker.LastTripReason, _breaker.OpenUntil);
            }
            else
            {
                LogChanged(Provider, before, _breaker.State);
            }
        }

        if (changed)
        {
            await PushAsync();
        }

        if (tripped)
        {
            await SaveTripsAsync();
        }
    }

    public Task<CircuitSnapshot> GetStatusAsync() => Task.FromResult(Snapshot());

    public Task<int> CountTripsAsync(DateTimeOffset since) => Task.FromResult(_state.State.Trips.Count(t => t >= since));

    /// <summary>
    /// Stores the trip log, trimmed to its bounds. A failed write is logged and the openings stay in memory for
    /// the next write: they happened, and storage trouble must never change what the breaker does.
    /// </summary>
    private async Task SaveTripsAsync()
    {
        var trips = _state.State.Trips;
        var oldest = _time.GetUtcNow() - TripRetention;
        trips.RemoveAll(t => t < oldest);
        if (trips.Count > TripCapacity)
        {
            trips.RemoveRange(0, trips.Count - TripCapacity);
        }

        try
        {
            await _state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            LogTripsNotSaved(ex, Provider);
            await ReloadAfterFailedWriteAsync();
        }
    }

    /// <summary>
    /// Re-reads the stored state after a failed write, so that the next write carries storage's version (a write that
    /// landed although it reported a failure would otherwise make every later write fail until the grain deactivates,
    /// and the replicas' subscriptions keep it active). Trips not stored yet are kept for the next write. False when
    /// storage cannot be read either; the next failed write tries again.
    /// </summary>
    private async Task<bool> ReloadAfterFailedWriteAsync()
    {
        List<DateTimeOffset> unsaved = [.. _state.State.Trips];
        try
        {
            await _state.ReadStateAsync();
        }
        catch (Exception ex)
        {
            LogReloadFailed(ex, Provider);
            return false;
        }

        _state.State.Trips = [.. _state.State.Trips.Union(unsaved).Order()];
        return true;
    }

    public async Task<ProbePermit> TryAcquireProbeAsync()
    {
        var (granted, changed) = _breaker.TryAcquireProbe(_time.GetUtcNow());
        if (changed)
        {
            LogChanged(Provider, CircuitState.Open, _breaker.State);
            await PushAsync();
        }

        return new ProbePermit(granted, Snapshot());
    }

    public Task ReleaseProbeAsync()
    {
        _breaker.ReleaseProbe();
        return Task.CompletedTask;
    }

    public async Task<CircuitSnapshot> SetModeAsync(CircuitMode mode, string actor)
    {
        // Stored first: a mode that storage refused is never live, and the admin sees the error.
        var previous = _state.State.Mode;
        _state.State.Mode = mode;
        try
        {
            await _state.WriteStateAsync();
        }
        catch
        {
            _state.State.Mode = previous;
            // A write reported as failed may have landed all the same (a timeout after the commit): what storage
            // holds decides. Stored after all, the change goes live; otherwise the admin sees the error.
            if (!await ReloadAfterFailedWriteAsync() || _state.State.Mode != mode)
            {
                throw;
            }
        }

        _breaker.Mode = mode;
        if (mode == CircuitMode.Auto)
        {
            _breaker.Reset();
        }

        LogModeChanged(Provider, mode, actor);
        await PushAsync();
        return Snapshot();
    }

    public Task SubscribeAsync(ICircuitObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(ICircuitObserver observer)
    {
        _observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    private async Task PushAsync()
    {
        _revision++;
        var snapshot = Snapshot();
        await _observers.Notify(o => o.OnCircuitChangedAsync(snapshot));
    }

    private CircuitSnapshot Snapshot() => new(
        Provider, _breaker.State, _breaker.Mode, _breaker.OpenUntil, _breaker.Calls, _breaker.Failures, _breaker.WindowCalls,
        _breaker.WindowFailureRate, _breaker.ProbesInFlight, _breaker.ConsecutiveOpenings, _breaker.LastOutcome, _breaker.LastCallAt,
        _breaker.LastTripReason, _revision);

    [LoggerMessage(Level = LogLevel.Critical, Message = "ALERT provider {Provider} rejected our credentials (401/403); its circuit is open")]
    private partial void LogCredentialsAlert(string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Circuit {Provider} opened ({Reason}) until {OpenUntil}")]
    private partial void LogOpened(string provider, string? reason, DateTimeOffset? openUntil);

    [LoggerMessage(Level = LogLevel.Information, Message = "Circuit {Provider}: {From} -> {To}")]
    private partial void LogChanged(string provider, CircuitState from, CircuitState to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Circuit {Provider}: storing its trip log failed; the openings are kept in memory for the next write")]
    private partial void LogTripsNotSaved(Exception exception, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Circuit {Provider}: re-reading its stored state after a failed write failed too; the next failed write tries again")]
    private partial void LogReloadFailed(Exception exception, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Circuit {Provider} set to {Mode} by {Actor}")]
    private partial void LogModeChanged(string provider, CircuitMode mode, string actor);
}

/// <summary>Silo-side breaker instruments (meter "Navigator.Providers").</summary>
public sealed class ProviderHealthMetrics(IMeterFactory meters)
{
    public const string MeterName = "Navigator.Providers";

    private readonly Counter<long> _trips = meters.Create(MeterName)
        .CreateCounter<long>("navigator.circuit.trips", description: "Times a provider's circuit opened, by the outcome that opened it.");

    public void Tripped(string provider, ProviderCallKind kind) =>
        _trips.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("outcome", kind.ToString()));
}
