using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Grains.Quotas;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Per-user daily quotas, decided on this replica. Each user's day has a local entry: what this
/// replica counted, and what the other replicas had counted at the last sync. Every
/// <see cref="SyncPeriod"/> the replica sends the cumulative counts of every entry that changed to the
/// day's <see cref="IUserQuotaGrain"/> shards: one call per shard, whatever the number of users, and
/// each answer brings back the others' counts. A request that finds its entry older than
/// <see cref="StaleAfter"/> (the user's first request here today, or a user quiet here) is decided on
/// what the replica knows and wakes the sync at once (within <see cref="RefreshCoalescing"/>). A request
/// never waits for the grain to be admitted; only a refusal on counts older than <see cref="SyncPeriod"/>
/// waits, to confirm it.
/// <para>
/// <b>Overshoot bound.</b> A replica admits a request when its own count plus the others' counts as
/// of its last sync is under the limit. A user can therefore exceed the daily request quota by at
/// most the requests the other replicas admitted for that user since this replica's last sync: one
/// sync period while the user is active here, and, when the entry here was stale, the requests that
/// arrive here before the refresh returns (<see cref="RefreshCoalescing"/> plus a grain round trip).
/// With R replicas, never by more than (R − 1) × the limit.
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

    /// <summary>An entry synced longer ago than this is refreshed at once when a request uses it.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(5);

    /// <summary>Refreshes that requests ask for within this window share one sync call per shard.</summary>
    public static readonly TimeSpan RefreshCoalescing = TimeSpan.FromMilliseconds(20);

    private readonly ConcurrentDictionary<(string Day, string User), Entry> _entries = new();
    private readonly SemaphoreSlim _refreshWanted = new(0, 1);

    /// <summary>Counts one request if the user is under both daily limits; otherwise returns why not and counts nothing.</summary>
    public async ValueTask<string?> TryStartAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd((DayOf(now), userId), k => new Entry(k.Day, k.User));
        var limits = options.CurrentValue;
        var reason = entry.TryStart(limits.RequestsPerDay, limits.TokensPerDay);
        var age = time.GetUtcNow() - entry.SyncedAt;
        if (reason is null)
        {
            if (age > StaleAfter && entry.RequestRefresh())
            {
                // Decided on what this replica knows; a sync within a few milliseconds brings the others' counts.
                WakeSyncLoop();
            }
        }
        else if (age > SyncPeriod)
        {
            // Refuse only on fresh numbers: the limit may have been raised since.
            await SyncAsync(entry.Day, [entry]).WaitAsync(cancellationToken);
            reason = entry.TryStart(limits.RequestsPerDay, limits.TokensPerDay);
        }

        return reason;
    }

    /// <summary>Adds the tokens a finished request was charged for.</summary>
    public void AddTokens(string userId, DateTimeOffset startedAt, long tokens)
    {
        if (_entries.TryGetValue((DayOf(startedAt), userId), out var entry))
        {
            entry.AddTokens(tokens);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // Every period, or soon after a request found its entry stale (coalescing the others that follow).
            if (await _refreshWanted.WaitAsync(SyncPeriod, stoppingToken))
            {
                await Task.Delay(RefreshCoalescing, time, stoppingToken);
            }

            await SyncChangedAsync();
        }
    }

    private void WakeSyncLoop()
    {
        try
        {
            _refreshWanted.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken: the coming sync takes this entry too.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await SyncChangedAsync();
    }

    private async Task SyncChangedAsync()
    {
        var today = DayOf(time.GetUtcNow());
        var due = new List<Entry>();
        foreach (var entry in _entries.Values)
        {
            if (entry.NeedsSync)
            {
                due.Add(entry);
            }
            else if (entry.Day != today)
            {
                _entries.TryRemove((entry.Day, entry.User), out _); // a past day, fully synced
            }
        }

        await Task.WhenAll(due.GroupBy(e => UserQuotaShards.KeyFor(e.User, e.Day)).Select(async shard =>
        {
            try
            {
                await SyncAsync(shard.First().Day, [.. shard]);
            }
            catch (Exception ex)
            {
                LogSyncFailed(ex, shard.Key, shard.Count()); // the next period retries: the counts are cumulative
            }
        }));
    }

    /// <summary>Sends the entries' cumulative counts (all of one shard) and takes in the cluster's totals.</summary>
    private async Task SyncAsync(string day, IReadOnlyList<Entry> entries)
    {
        var sentAt = time.GetUtcNow();
        var mine = entries.ToDictionary(e => e.User, e => e.Mine, StringComparer.Ordinal);
        var totals = await grains.GetGrain<IUserQuotaGrain>(UserQuotaShards.KeyFor(entries[0].User, day)).SyncAsync(leases.ReplicaId, mine);
        foreach (var entry in entries)
        {
            entry.Synced(mine[entry.User], totals.GetValueOrDefault(entry.User) ?? mine[entry.User], sentAt);
        }
    }

    private static string DayOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private sealed class Entry(string day, string user)
    {
        private readonly Lock _gate = new();
        private QuotaUsage _mine = QuotaUsage.Zero;
        private QuotaUsage _others = QuotaUsage.Zero;
        private QuotaUsage _synced = QuotaUsage.Zero;
        private bool _refresh;

        public string Day { get; } = day;

        public string User { get; } = user;

        public DateTimeOffset SyncedAt { get; private set; } = DateTimeOffset.MinValue;

        public QuotaUsage Mine
        {
            get { lock (_gate) { return _mine; } }
        }

        /// <summary>Counts changed since the last sync, or a request asked for the others' counts.</summary>
        public bool NeedsSync
        {
            get { lock (_gate) { return _refresh || _mine != _synced; } }
        }

        /// <summary>Marks the entry for the next sync; false when it was already marked.</summary>
        public bool RequestRefresh()
        {
            lock (_gate)
            {
                var first = !_refresh;
                _refresh = true;
                return first;
            }
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
                // Counts only grow within a day: a smaller answer means the grain lost them (its silo
                // died); keep what this replica already knew until the other replicas sync again.
                _others = total.Minus(sent).Max(_others);
                _refresh = false;
                SyncedAt = at;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not sync the quota counts of {Count} users in {Shard}; retrying next period")]
    private partial void LogSyncFailed(Exception exception, string shard, int count);
}
