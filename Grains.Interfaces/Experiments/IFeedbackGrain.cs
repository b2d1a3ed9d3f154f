namespace Navigator.Grains.Experiments;

/// <summary>
/// Ratings of answers, sharded by request id (key 0 to <see cref="Shards"/> - 1). Each shard remembers the last
/// rating of each request until the feedback window closes, so a repeated rating counts once and a changed
/// one moves its count. It forwards the changes to the experiment's grain as tally batches.
/// </summary>
[Alias("Navigator.IFeedbackGrain")]
public interface IFeedbackGrain : IGrainWithIntegerKey
{
    const int Shards = 16;

    /// <summary>Ratings kept per shard; past it, those closest to the end of their window leave first.</summary>
    const int Capacity = 20_000;

    [Alias("Rate")]
    Task<FeedbackOutcome> RateAsync(FeedbackRating rating);

    /// <summary>The shard of a request id: a stable hash, so every replica picks the same one.</summary>
    static int ShardOf(string requestId)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(requestId));
        return (int)(BitConverter.ToUInt32(hash, 0) % Shards);
    }
}

[GenerateSerializer, Immutable, Alias("Navigator.FeedbackRating")]
public sealed record FeedbackRating(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string? ExperimentId,
    [property: Id(2)] string? VariantId,
    [property: Id(3)] bool Up,
    [property: Id(4)] DateTimeOffset KeepUntil);

[GenerateSerializer, Alias("Navigator.FeedbackOutcome")]
public enum FeedbackOutcome
{
    /// <summary>The request's first rating.</summary>
    Counted = 0,

    /// <summary>The rating changed: the old one no longer counts.</summary>
    Changed = 1,

    /// <summary>The same rating again: nothing changes.</summary>
    Unchanged = 2,
}
