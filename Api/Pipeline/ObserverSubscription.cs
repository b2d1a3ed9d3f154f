namespace Navigator.Api.Pipeline;

/// <summary>
/// Keeps an Orleans observer subscription alive: subscribes at start, then every
/// <see cref="RenewPeriod"/> renews it and re-reads the state, so a missed push (for example
/// while the grain moved to another silo) is repaired within one period. A failed attempt (the
/// client still connecting at start-up, a silo away) is retried soon, backing off from 250 ms to
/// the period, so that pushes resume as soon as the cluster answers.
/// </summary>
public abstract partial class ObserverSubscription(ILogger logger) : BackgroundService
{
    protected abstract TimeSpan RenewPeriod { get; }

    protected abstract string Name { get; }

    /// <summary>Subscribes (or renews) and re-reads the state.</summary>
    protected abstract Task RenewAsync(CancellationToken cancellationToken);

    /// <summary>Cancels the subscription on shutdown; it would expire anyway.</summary>
    protected abstract Task UnsubscribeAsync();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retry = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = RenewPeriod;
            try
            {
                await RenewAsync(stoppingToken);
                retry = TimeSpan.FromMilliseconds(250);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogRenewFailed(logger, ex, Name);
                next = retry;
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, RenewPeriod.Ticks));
            }

            try
            {
                await Task.Delay(next, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await UnsubscribeAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception ex)
        {
            // The client may already be shutting down; the grain drops the subscription when it expires.
            LogUnsubscribeFailed(logger, ex, Name);
        }

        await base.StopAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew the {Name} subscription; serving the last known state")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string name);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not unsubscribe {Name} on shutdown")]
    private static partial void LogUnsubscribeFailed(ILogger logger, Exception exception, string name);
}
