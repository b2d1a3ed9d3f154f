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
}

/// <summary>
/// One provider's breaker for the whole cluster. The sliding window lives in memory: it is a live
/// signal, and a fresh activation starting closed and learning again is the right behaviour.
/// The operator's mode is persisted. Every state change is pushed to subscribed API replicas.
/// </summary>
public sealed partial class ProviderHealthGrain : Grain, IProviderHealthGrain
{
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
    }

    public Task<CircuitSnapshot> GetStatusAsync() => Task.FromResult(Snapshot());

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
        _state.State.Mode = _breaker.Mode = mode;
        if (mode == CircuitMode.Auto)
        {
            _breaker.Reset();
        }

        await _state.WriteStateAsync();
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
