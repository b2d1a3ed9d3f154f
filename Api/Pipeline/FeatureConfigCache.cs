using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Pipeline;

/// <summary>
/// This replica's snapshot of the active feature config. Requests read it without calling the
/// grain. The grain pushes every change to this observer; the subscription is renewed, and the
/// snapshot re-read, every 5 s in case a push was missed.
/// </summary>
public sealed partial class FeatureConfigCache : ObserverSubscription, IFeatureConfigObserver
{
    private readonly IClusterClient _client;
    private readonly string _feature;
    private readonly ILogger<FeatureConfigCache> _logger;
    private readonly Lazy<IFeatureConfigObserver> _reference;
    private FeatureSnapshot? _current;

    public FeatureConfigCache(IClusterClient client, IOptions<RequestOptions> options, ILogger<FeatureConfigCache> logger)
        : base(logger)
    {
        _client = client;
        _feature = options.Value.Feature;
        _logger = logger;
        // Orleans holds observer references weakly; this field keeps ours alive.
        _reference = new Lazy<IFeatureConfigObserver>(() => client.CreateObjectReference<IFeatureConfigObserver>(this));
    }

    protected override TimeSpan RenewPeriod => TimeSpan.FromSeconds(5);

    protected override string Name => $"feature config {_feature}";

    private IPromptConfigGrain Grain => _client.GetGrain<IPromptConfigGrain>(_feature);

    /// <summary>The active snapshot, or null before the first one has arrived.</summary>
    public FeatureSnapshot? Current => Volatile.Read(ref _current);

    /// <summary>The active snapshot; reads the grain only before the first snapshot has arrived.</summary>
    public async ValueTask<FeatureSnapshot> GetAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _current) ?? await RefreshAsync(cancellationToken);

    public Task OnActiveChangedAsync(FeatureSnapshot snapshot)
    {
        Apply(snapshot);
        return Task.CompletedTask;
    }

    protected override async Task RenewAsync(CancellationToken cancellationToken)
    {
        await Grain.SubscribeAsync(_reference.Value);
        await RefreshAsync(cancellationToken);
    }

    protected override async Task UnsubscribeAsync()
    {
        if (_reference.IsValueCreated)
        {
            await Grain.UnsubscribeAsync(_reference.Value);
            _client.DeleteObjectReference<IFeatureConfigObserver>(_reference.Value);
        }
    }

    private async Task<FeatureSnapshot> RefreshAsync(CancellationToken cancellationToken)
    {
        var snapshot = await Grain.GetActiveAsync().WaitAsync(cancellationToken)
            ?? throw new InvalidOperationException($"Feature '{_feature}' has no active version.");
        return Apply(snapshot);
    }

    /// <summary>Keeps the newest snapshot: a late push or refresh never replaces a newer revision.</summary>
    private FeatureSnapshot Apply(FeatureSnapshot snapshot)
    {
        while (true)
        {
            var current = Volatile.Read(ref _current);
            if (current is not null && current.Revision >= snapshot.Revision)
            {
                return current;
            }

            if (Interlocked.CompareExchange(ref _current, snapshot, current) == current)
            {
                if (current is not null && current.FeatureVersion != snapshot.FeatureVersion)
                {
                    LogSwitched(_feature, current.FeatureVersion, snapshot.FeatureVersion, snapshot.Revision);
                }

                return snapshot;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Feature {Feature} switched {From} -> {To} (revision {Revision})")]
    private partial void LogSwitched(string feature, string from, string to, long revision);
}
