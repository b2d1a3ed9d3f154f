using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Navigator.Api.Options;
using Navigator.Api.Telemetry;
using Navigator.Grains.Providers;

namespace Navigator.Api.Pipeline;

/// <summary>What the failover does with a provider right now.</summary>
public enum CircuitDecision
{
    Call,
    Skip,
    Probe,
}

/// <summary>
/// This replica's view of every provider's cluster-wide circuit. The health grains push each
/// change; the view is also re-read every second. Requests consult it without a grain call; only
/// a half-open circuit costs one call, for a probe permit.
/// </summary>
public sealed partial class CircuitStateCache : ObserverSubscription, ICircuitObserver
{
    private readonly IClusterClient _client;
    private readonly TimeProvider _time;
    private readonly Lazy<ICircuitObserver> _reference;
    private readonly ConcurrentDictionary<string, CircuitSnapshot> _circuits = new(StringComparer.Ordinal);

    public CircuitStateCache(IClusterClient client, TimeProvider time, IMeterFactory meters, ILogger<CircuitStateCache> logger)
        : base(logger)
    {
        _client = client;
        _time = time;
        _reference = new Lazy<ICircuitObserver>(() => client.CreateObjectReference<ICircuitObserver>(this));
        meters.Create(GatewayMetrics.MeterName).CreateObservableGauge("navigator.circuit.state", () => _circuits.Values.Select(c =>
                new Measurement<int>((int)c.EffectiveState(_time.GetUtcNow()), new KeyValuePair<string, object?>("provider", c.Provider))),
            description: "Circuit state per provider: 0 closed, 1 half-open, 2 open.");
    }

    protected override TimeSpan RenewPeriod => TimeSpan.FromSeconds(1);

    protected override string Name => "provider circuits";

    public CircuitSnapshot? Get(string provider) => _circuits.GetValueOrDefault(provider);

    public CircuitDecision Decide(string provider) =>
        _circuits.TryGetValue(provider, out var circuit)
            ? circuit.EffectiveState(_time.GetUtcNow()) switch
            {
                CircuitState.Closed => CircuitDecision.Call,
                CircuitState.HalfOpen => CircuitDecision.Probe,
                _ => CircuitDecision.Skip,
            }
            : CircuitDecision.Call;

    /// <summary>Asks the provider's grain for one of the cluster's bounded probe permits.</summary>
    public async Task<bool> TryAcquireProbeAsync(string provider, CancellationToken cancellationToken)
    {
        var permit = await _client.GetGrain<IProviderHealthGrain>(provider).TryAcquireProbeAsync().WaitAsync(cancellationToken);
        Apply(permit.Snapshot);
        return permit.Granted;
    }

    /// <summary>Returns a probe permit whose call never reached the provider (one-way: the request does not wait).</summary>
    public void ReleaseProbe(string provider) => _ = _client.GetGrain<IProviderHealthGrain>(provider).ReleaseProbeAsync();

    /// <summary>When the earliest open circuit will let a probe through; null when none is open.</summary>
    public TimeSpan? EarliestProbe()
    {
        var now = _time.GetUtcNow();
        var next = _circuits.Values.Where(c => c.Mode == CircuitMode.Auto && c.OpenUntil > now).Select(c => c.OpenUntil!.Value - now).DefaultIfEmpty();
        return next.Min() is { } min && min > TimeSpan.Zero ? min : null;
    }

    public Task OnCircuitChangedAsync(CircuitSnapshot snapshot)
    {
        Apply(snapshot);
        return Task.CompletedTask;
    }

    public void Apply(CircuitSnapshot snapshot) => _circuits[snapshot.Provider] = snapshot;

    protected override async Task RenewAsync(CancellationToken cancellationToken)
    {
        foreach (var provider in ProviderNames.All)
        {
            var grain = _client.GetGrain<IProviderHealthGrain>(provider);
            await grain.SubscribeAsync(_reference.Value);
            Apply(await grain.GetStatusAsync().WaitAsync(cancellationToken));
        }
    }

    protected override async Task UnsubscribeAsync()
    {
        if (_reference.IsValueCreated)
        {
            foreach (var provider in ProviderNames.All)
            {
                await _client.GetGrain<IProviderHealthGrain>(provider).UnsubscribeAsync(_reference.Value);
            }

            _client.DeleteObjectReference<ICircuitObserver>(_reference.Value);
        }
    }
}
