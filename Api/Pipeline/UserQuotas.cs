using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Grains.Quotas;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Per-user daily quotas, decided on this replica. Each user's day has a local entry: what this
/// replica counted, and what the other replicas had counted at the last sync with the user's
/// <see cref="IUserQuotaGrain"/>. Entries with new counts are synced in the background every
/// <see cref="SyncPeriod"/>, and each sync brings back the others' counts. A request waits for the
/// grain only when the user's entry was synced more than <see cref="StaleAfter"/> ago (the user's
/// first request of the day on this replica, or a user who has been quiet here), or to confirm a
/// refusal on counts older than <see cref="SyncPeriod"/>.
/// <para>
/// <b>Overshoot bound.</b> A replica admits a request when its own count plus the others' counts
/// as of its last sync (at most <see cref="StaleAfter"/> old) is under the limit. A user can therefore
/// exceed the daily request quota by at most the requests the other replicas admitted for that user
/// within the last <see cref="StaleAfter"/> plus one sync period; with R replicas, never by more than
/// (R − 1) × the limit.
/// </para>
/// </summary>
public sealed partial class UserQuotas(
    IGrainFactory grains,
    BudgetLeases leases,
    IOptionsMonitor<UserQuotaOptions> options,
    TimeProvider time,
    ILogger<UserQuotas> logger) : BackgroundService
{
    public static readonly TimeSpan SyncPeriod = TimeSpan.FromSeconds(1);

    /// <summary>A user's entry synced longer ago than this is synced before it decides (a local miss).</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Counts one request if the user is under both daily limits; otherwise returns why not and counts nothing.</summary>
    public async ValueTask<string?> TryStartAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = $"{userId}/{now.UtcDateTime:yyyy-MM-dd}";
        var entry = _entries.GetOrAdd(key, k => new Entry(k));
        if (time.GetUtcNow() - entry.SyncedAt > StaleAfter)
        {
            // First request of the day here, or the user has been quiet here: learn what the other replicas counted.
            await SyncAsync(entry).WaitAsync(cancellationToken);
        }

        var limits = options.CurrentValue;
        var reason = entry.TryStart(limits.RequestsPerDay, limits.TokensPerDay);
        if (reason is not null && time.GetUtcNow() - entry.SyncedAt > SyncPeriod)
        {
            // Refuse only on fresh numbers: other replicas' counts only grow, but the limit may have been raised.
            await SyncAsync(entry).WaitAsync(cancellationToken);
            reason = entry.TryStart(limits.RequestsPerDay, limits.TokensPerDay);
        }

        return reason;
    }

    /// <summary>Adds the tokens a finished request was charged for.</summary>
    public void AddTokens(string userId, DateTimeOffset startedAt, long tokens)
    {
        if (_entries.TryGetValue($"{userId}/{startedAt.UtcDateTime:yyyy-MM-dd}", out var entry))
        {
            entry.AddTokens(tokens);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SyncPeriod, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await SyncChangedAsync();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await SyncChangedAsync();
    }

    private async Task SyncChangedAsync()
    {
        var today = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var changed = new List<Entry>();
        foreach (var entry in _entries.Values)
        {
            if (entry.HasNews)
            {
                changed.Add(entry);
            }
            else if (!entry.Key.EndsWith(today, StringComparison.Ordinal))
            {
                _entries.TryRemove(entry.Key, out _); // a past day, fully synced
            }
        }

        foreach (var batch in changed.Chunk(64))
        {
            await Task.WhenAll(batch.Select(async entry =>
            {
                try
                {
                    await SyncAsync(entry);
                }
                catch (Exception ex)
                {
                    LogSyncFailed(ex, entry.Key); // the next period retries: the counts are cumulative
                }
            }));
        }
    }

    private async Task SyncAsync(Entry entry)
    {
        var (mine, sentAt) = (entry.Mine, time.GetUtcNow());
        var total = await grains.GetGrain<IUserQuotaGrain>(entry.Key).SyncAsync(leases.ReplicaId, mine);
        entry.Synced(mine, total, sentAt);
    }

    private sealed class Entry(string key)
    {
        private readonly Lock _gate = new();
        private QuotaUsage _mine = QuotaUsage.Zero;
        private QuotaUsage _others = QuotaUsage.Zero;
        private QuotaUsage _synced = QuotaUsage.Zero;

        public string Key { get; } = key;

        public DateTimeOffset SyncedAt { get; private set; } = DateTimeOffset.MinValue;

        public QuotaUsage Mine
        {
            get { lock (_gate) { return _mine; } }
        }

        public bool HasNews
        {
            get { lock (_gate) { return _mine != _synced; } }
        }

        public string? TryStart(int requestsPerDay, long tokensPerDay)
        {
            lock (_gate)
            {
                var total = _mine.Plus(_others);
                if (total.Requests >= requestsPerDay)
                {
                    return $"The daily limit of {requestsPerDay} requests is used up.";
                }

                if (total.Tokens >= tokensPerDay)
                {
                    return $"The daily limit of {tokensPerDay} tokens is used up.";
                }

                _mine = _mine with { Requests = _mine.Requests + 1 };
                return null;
            }
        }

        public void AddTokens(long tokens)
        {
            lock (_gate)
            {
                _mine = _mine with { Tokens = _mine.Tokens + Math.Max(0, tokens) };
            }
        }

        public void Synced(QuotaUsage sent, QuotaUsage total, DateTimeOffset at)
        {
            lock (_gate)
            {
                _synced = sent;
                _others = total.Minus(sent);
                SyncedAt = at;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not sync the quota counts of {Key}; retrying next period")]
    private partial void LogSyncFailed(Exception exception, string key);
}
