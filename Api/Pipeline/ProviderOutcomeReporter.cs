using System.Collections.Concurrent;
using Navigator.Grains.Providers;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Sends this replica's provider-call outcomes to each provider's health grain in batches: one
/// one-way message per provider every <see cref="FlushPeriod"/>, whatever the request rate. The
/// grain counts every outcome of a batch in order, so the breaker trips after the same number of
/// failures as with one message per call; it only learns of them up to one period later. A probe's
/// outcome is sent at once, as it decides whether a half-open circuit closes.
/// </summary>
public sealed partial class ProviderOutcomeReporter(IGrainFactory grains, ILogger<ProviderOutcomeReporter> logger) : BackgroundService
{
    public static readonly TimeSpan FlushPeriod = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, ConcurrentQueue<ProviderCallOutcome>> _pending = new(StringComparer.Ordinal);

    public void Report(string provider, ProviderCallOutcome outcome)
    {
        _pending.GetOrAdd(provider, _ => new ConcurrentQueue<ProviderCallOutcome>()).Enqueue(outcome);
        if (outcome.IsProbe)
        {
            Flush(provider);
        }
    }

    /// <summary>Outcomes of a provider queued for the next batch.</summary>
    public IReadOnlyList<ProviderCallOutcome> Pending(string provider) =>
        _pending.TryGetValue(provider, out var queue) ? [.. queue] : [];

    /// <summary>Sends what is queued for every provider.</summary>
    public void FlushAll()
    {
        foreach (var provider in _pending.Keys)
        {
            Flush(provider);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushPeriod);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            FlushAll();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        FlushAll();
    }

    private void Flush(string provider)
    {
        if (!_pending.TryGetValue(provider, out var queue))
        {
            return;
        }

        var batch = new List<ProviderCallOutcome>();
        while (queue.TryDequeue(out var outcome))
        {
            batch.Add(outcome);
        }

        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            // [OneWay]: returns at once.
            _ = grains.GetGrain<IProviderHealthGrain>(provider).RecordBatchAsync(batch);
        }
        catch (Exception ex)
        {
            // The breaker misses these outcomes; it is a live signal and learns again from the next ones.
            LogSendFailed(ex, provider, batch.Count);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not send {Count} outcomes of {Provider} to its health grain")]
    private partial void LogSendFailed(Exception exception, string provider, int count);
}

/// <summary>
/// A provider attempt failed because of the provider: an error status, a timeout, a broken connection
/// or an answer that does not parse. Only these count against the provider's circuit and move the
/// request to the next provider; anything else (ledger, storage, configuration) ends the request.
/// </summary>
public sealed class ProviderCallException(ProviderCallKind kind, TimeSpan? retryAfter, Microsoft.Extensions.AI.ChatResponse? response, Exception inner)
    : Exception($"The provider call failed ({kind.ToAttemptOutcome().Label()}): {inner.Message}", inner)
{
    public ProviderCallKind Kind { get; } = kind;

    /// <summary>The wait a 429 asked for, when the SDK exposes it.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>The answer, when one arrived but did not parse: the provider billed it.</summary>
    public Microsoft.Extensions.AI.ChatResponse? Response { get; } = response;

    /// <summary>What the budget layer charged for the failed attempt, and for which model.</summary>
    public GatewayResponse.Charge? Charge { get; set; }

    /// <summary>The soft limit had sent the attempt to the cheaper model.</summary>
    public bool Downgraded { get; set; }
}
