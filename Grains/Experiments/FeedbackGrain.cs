using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Navigator.Grains.Experiments;

[GenerateSerializer, Alias("Navigator.FeedbackState")]
public sealed class FeedbackState
{
    /// <summary>The last rating of each request (plain request id), until its window closes.</summary>
    [Id(0)] public Dictionary<string, FeedbackEntry> Ratings { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Count changes not yet stored by their experiment's grain, in order.</summary>
    [Id(1)] public List<PendingFeedback> Pending { get; set; } = [];

    [Id(2)] public long Sequence { get; set; }
}

[GenerateSerializer, Immutable, Alias("Navigator.FeedbackEntry")]
public sealed record FeedbackEntry([property: Id(0)] bool Up, [property: Id(1)] DateTimeOffset KeepUntil);

[GenerateSerializer, Immutable, Alias("Navigator.PendingFeedback")]
public sealed record PendingFeedback(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] string VariantId,
    [property: Id(2)] long Sequence,
    [property: Id(3)] long Up,
    [property: Id(4)] long Down);

/// <summary>
/// One shard of ratings, in blob storage ("ledger": no entity-size limit). State is bounded by
/// <see cref="IFeedbackGrain.Capacity"/> ratings (about 60 bytes each) and at most <see cref="MaxPending"/>
/// unsent count changes. A rating is stored, with its count change, before it is acknowledged; the change
/// is then sent to the experiment's grain with this shard's sequence number, which that grain stores once
/// however often it is sent, and retried every few seconds until it is stored.
/// </summary>
public sealed partial class FeedbackGrain(
    [PersistentState("feedback", "ledger")] IPersistentState<FeedbackState> state,
    [FromKeyedServices(LedgerClock.Key)] TimeProvider time,
    ILogger<FeedbackGrain> logger) : Grain, IFeedbackGrain
{
    public const int MaxPending = 10_000;

    private IGrainTimer? _retry;

    private string ReplicaName => $"feedback-{this.GetPrimaryKeyLong()}";

    public async Task<FeedbackOutcome> RateAsync(FeedbackRating rating)
    {
        var ratings = state.State.Ratings;
        var outcome = ratings.TryGetValue(rating.RequestId, out var previous)
            ? previous.Up == rating.Up ? FeedbackOutcome.Unchanged : FeedbackOutcome.Changed
            : FeedbackOutcome.Counted;
        if (outcome == FeedbackOutcome.Unchanged)
        {
            return outcome;
        }

        ratings[rating.RequestId] = new FeedbackEntry(rating.Up, rating.KeepUntil);
        if (rating is { ExperimentId: { } experiment, VariantId: { } variant })
        {
            var (up, down) = (rating.Up ? 1 : 0, rating.Up ? 0 : 1);
            if (outcome == FeedbackOutcome.Changed)
            {
                (up, down) = rating.Up ? (1, -1) : (-1, 1);
            }

            state.State.Pending.Add(new PendingFeedback(experiment, variant, ++state.State.Sequence, up, down));
            if (state.State.Pending.Count > MaxPending)
            {
                LogPendingDropped(state.State.Pending[0].ExperimentId);
                state.State.Pending.RemoveAt(0);
            }
        }

        Prune();
        // Not stored: the activation goes, so neither the rating nor its count change is sent on or seen by a retry.
        await this.WriteOrDeactivateAsync(state);
        await SendPendingAsync();
        return outcome;
    }

    /// <summary>Sends the unsent count changes in order; on a failure, retries in a few seconds.</summary>
    private async Task SendPendingAsync()
    {
        while (state.State.Pending.Count > 0)
        {
            var next = state.State.Pending[0];
            var tally = new VariantTally();
            tally.AddFeedback(next.Up, next.Down);
            try
            {
                // Each change travels with its own sequence number: the experiment stores it once.
                await GrainFactory.GetGrain<IExperimentGrain>(next.ExperimentId)
                    .RecordAsync(new TallyBatch(ReplicaName, next.Sequence, new Dictionary<string, VariantTally> { [next.VariantId] = tally }));
            }
            catch (Exception ex)
            {
                LogSendFailed(ex, next.ExperimentId);
                _retry ??= this.RegisterGrainTimer(async () =>
                {
                    _retry?.Dispose();
                    _retry = null;
                    await SendPendingAsync();
                }, TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan);
                return;
            }

            // Removed in memory only: should the grain restart before its next write, the experiment ignores the resend.
            state.State.Pending.RemoveAt(0);
        }
    }

    private void Prune()
    {
        var now = time.GetUtcNow();
        var ratings = state.State.Ratings;
        foreach (var closed in ratings.Where(r => r.Value.KeepUntil < now).Select(r => r.Key).ToList())
        {
            ratings.Remove(closed);
        }

        foreach (var oldest in ratings.OrderBy(r => r.Value.KeepUntil).Take(ratings.Count - IFeedbackGrain.Capacity).Select(r => r.Key).ToList())
        {
            ratings.Remove(oldest);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Feedback for experiment {Experiment} could not be sent yet; retrying")]
    private partial void LogSendFailed(Exception exception, string experiment);

    [LoggerMessage(Level = LogLevel.Error, Message = "Over 10,000 feedback count changes unsent; the oldest (experiment {Experiment}) is dropped")]
    private partial void LogPendingDropped(string experiment);
}
