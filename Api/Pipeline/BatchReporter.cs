using System.Collections.Concurrent;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Counts on this replica, in memory, per grain, and sends each grain's counts every <see cref="Period"/>: one
/// grain call per grain per period, never one per request. A batch keeps its sequence number until the grain
/// has stored it; a failed send is retried as the same batch (grains ignore a sequence they have stored for
/// the replica), and newer counts wait in the next one. Sequence numbers rise across all of this replica's
/// batches, so a grain whose pending counts were retired while idle still sees each new batch as new.
/// </summary>
/// <remarks>The replica's name is its budget lease name, unique per process.</remarks>
public abstract class BatchReporter<TKey, TTally>(BudgetLeases leases, ILogger logger) : BackgroundService
    where TKey : notnull
    where TTally : new()
{
    private readonly ConcurrentDictionary<string, Pending> _grains = new(StringComparer.Ordinal);
    private long _sequence;

    public virtual TimeSpan Period => TimeSpan.FromSeconds(1);

    /// <summary>Sends one batch to the grain <paramref name="grainKey"/>; throws when the grain did not store it.</summary>
    protected abstract Task SendAsync(string grainKey, string replicaId, long sequence, IReadOnlyDictionary<TKey, TTally> items);

    /// <summary>Counts into <paramref name="item"/>'s tally in the next batch for <paramref name="grainKey"/>.</summary>
    protected void Add(string grainKey, TKey item, Action<TTally> count)
    {
        // A pending set retired by a flush between GetOrAdd and TryAdd refuses the count; the next GetOrAdd makes a new one.
        while (!_grains.GetOrAdd(grainKey, _ => new Pending()).TryAdd(item, count))
        {
        }
    }

    /// <summary>Sends every grain's pending counts now.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var (key, pending) in _grains)
        {
            if (pending.Next(() => Interlocked.Increment(ref _sequence)) is not { } batch)
            {
                if (pending.TryRetire())
                {
                    _grains.TryRemove(new KeyValuePair<string, Pending>(key, pending));
                }

                continue;
            }

            try
            {
                await SendAsync(key, leases.ReplicaId, batch.Sequence, batch.Items).WaitAsync(cancellationToken);
                pending.Stored();
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                ReporterLog.SendFailed(logger, ex, GetType().Name, key);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await FlushAsync(stoppingToken);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken); // the last period's counts
    }

    private sealed record Batch(long Sequence, Dictionary<TKey, TTally> Items);

    /// <summary>One grain's counts: the batch in flight (kept until stored) and the counts since.</summary>
    private sealed class Pending
    {
        private readonly Lock _gate = new();
        private Dictionary<TKey, TTally> _since = [];
        private Batch? _inFlight;
        private bool _retired;

        public bool TryAdd(TKey item, Action<TTally> count)
        {
            lock (_gate)
            {
                if (_retired)
                {
                    return false;
                }

                if (!_since.TryGetValue(item, out var tally))
                {
                    _since[item] = tally = new TTally();
                }

                count(tally);
                return true;
            }
        }

        /// <summary>The batch to send: the one not yet stored, or the counts since the last one.</summary>
        public Batch? Next(Func<long> sequence)
        {
            lock (_gate)
            {
                if (_inFlight is null && _since.Count > 0)
                {
                    _inFlight = new Batch(sequence(), _since);
                    _since = [];
                }

                return _inFlight;
            }
        }

        public void Stored()
        {
            lock (_gate)
            {
                _inFlight = null;
            }
        }

        /// <summary>Retires an idle set (nothing in flight or pending), so grains no longer written to are forgotten.</summary>
        public bool TryRetire()
        {
            lock (_gate)
            {
                _retired = _inFlight is null && _since.Count == 0;
                return _retired;
            }
        }
    }
}

internal static partial class ReporterLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "{Reporter}: sending this replica's counts to grain {Key} failed; the batch is retried")]
    public static partial void SendFailed(ILogger logger, Exception exception, string reporter, string key);
}
