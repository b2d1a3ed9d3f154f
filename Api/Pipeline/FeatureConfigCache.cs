using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Pipeline;

/// <summary>
/// This replica's snapshot of the active feature config. Requests read it without calling the
/// grain. The grain pushes every change to an observer registered here; the subscription is
/// renewed, and the snapshot re-read, every <see cref="RefreshPeriod"/> in case a push was missed
/// (for example while the grain moved to another silo).
/// </summary>
public sealed partial class FeatureConfigCache(
    IClusterClient client,
    IOptions<RequestOptions> options,
    ILogger<FeatureConfigCache> logger) : BackgroundService, IFeatureConfigObserver
{
    public static readonly TimeSpan RefreshPeriod = TimeSpan.FromSeconds(5);

    private readonly string _feature = options.Value.Feature;
    private FeatureSnapshot? _current;
    // Orleans holds observer references weakly; this field keeps ours alive.
    private IFeatureConfigObserver? _reference;

    private IPromptConfigGrain Grain => client.GetGrain<IPromptConfigGrain>(_feature);

    /// <summary>The active snapshot; reads the grain only before the first snapshot has arrived.</summary>
    public async ValueTask<FeatureSnapshot> GetAsync(CancellationToken cancellationToken)
    {
        return Volatile.Read(ref _current) ?? await RefreshAsync(cancellationToken);
    }

    public Task OnActiveChangedAsync(FeatureSnapshot snapshot)
    {
        Apply(snapshot);
        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _reference = client.CreateObjectReference<IFeatureConfigObserver>(this);
        using var timer = new PeriodicTimer(RefreshPeriod);
        do
        {
            try
            {
                await Grain.SubscribeAsync(_reference);
                await RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogRefreshFailed(ex, _feature);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_reference is not null)
        {
            try
            {
                await Grain.UnsubscribeAsync(_reference).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
                client.DeleteObjectReference<IFeatureConfigObserver>(_reference);
            }
            catch (Exception ex)
            {
                // The client may already be shutting down; the grain drops the subscription when it expires.
                LogUnsubscribeFailed(ex, _feature);
            }
        }

        await base.StopAsync(cancellationToken);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh the config of {Feature}; serving the last snapshot")]
    private partial void LogRefreshFailed(Exception exception, string feature);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not unsubscribe from {Feature} on shutdown")]
    private partial void LogUnsubscribeFailed(Exception exception, string feature);

    [LoggerMessage(Level = LogLevel.Information, Message = "Feature {Feature} switched {From} -> {To} (revision {Revision})")]
    private partial void LogSwitched(string feature, string from, string to, long revision);
}
