using Navigator.Grains.Experiments;
using Navigator.Testing;

namespace Navigator.Grains.Tests;

/// <summary>An experiment's counts and its ratings are durable: a new silo finds them exactly, and retried batches still count once.</summary>
public sealed class ExperimentPersistenceTests
{
    [Fact]
    public async Task Counts_and_ratings_survive_a_silo_restart_and_a_retried_batch_counts_once()
    {
        var clusterId = TestStorage.NewServiceId("experiment-restart");
        var serviceId = TestStorage.NewServiceId("experiment-restart");
        var definition = new ExperimentDefinition("durable", ExperimentDefinition.Running, "durable",
            [new ExperimentVariant("control", 50, null), new ExperimentVariant("treatment", 50, null) { SystemPromptVersion = "v2.0" }])
        {
            Feature = "career_path_navigator",
        };
        // Kept until a week after the silo's own now (the suite may run on a shifted clock).
        var rating = new FeedbackRating("req_0193a7b2c1d24e5f8a9b0c1d2e3f4a5b", "durable", "treatment", Up: true, TestClock.Suite.GetUtcNow().AddDays(7));

        await using (var silo = await TestSilo.StartAsync(clusterId, serviceId))
        {
            using var client = await silo.StartClientAsync();
            var grains = client.ClusterClient();
            var experiment = grains.GetGrain<IExperimentGrain>("durable");
            // The seeded experiment runs on the feature: stop it so this one may start.
            await grains.GetGrain<IExperimentGrain>("provider_comparison").TransitionAsync("stop", "test", null);
            Assert.True((await experiment.CreateAsync(definition, "test")).Succeeded);
            await experiment.RecordAsync(Batch("replica-1", 1, ("control", 3), ("treatment", 2)));
            await experiment.RecordAsync(Batch("replica-1", 2, ("treatment", 1)));
            await experiment.RecordAsync(Batch("replica-2", 1, ("control", 4)));
            await experiment.RecordAsync(Batch("replica-1", 2, ("treatment", 1))); // a retry of a stored batch
            Assert.Equal(FeedbackOutcome.Counted, await grains.GetGrain<IFeedbackGrain>(IFeedbackGrain.ShardOf(rating.RequestId)).RateAsync(rating));
            await client.StopAsync();
        }

        await using (var silo = await TestSilo.StartAsync(clusterId, serviceId))
        {
            using var client = await silo.StartClientAsync();
            var grains = client.ClusterClient();
            var experiment = grains.GetGrain<IExperimentGrain>("durable");
            await experiment.RecordAsync(Batch("replica-1", 2, ("treatment", 1))); // retried again, after the restart

            var tallies = (await experiment.GetTalliesAsync())!;
            Assert.Equal(7, tallies.Variants["control"].Requests);
            Assert.Equal(3, tallies.Variants["treatment"].Requests);
            Assert.Equal(1, tallies.Variants["treatment"].ThumbsUp);
            Assert.Equal(ExperimentDefinition.Running, tallies.Definition.Status);
            Assert.Equal(10_000, tallies.Definition.Variants.Sum(v => v.Buckets.Sum(r => r.Count)));
            // The rating is remembered: the same one again changes nothing.
            Assert.Equal(FeedbackOutcome.Unchanged, await grains.GetGrain<IFeedbackGrain>(IFeedbackGrain.ShardOf(rating.RequestId)).RateAsync(rating));
            Assert.Equal(1, (await experiment.GetTalliesAsync())!.Variants["treatment"].ThumbsUp);
            await client.StopAsync();
        }
    }

    private static TallyBatch Batch(string replica, long sequence, params (string Variant, int Requests)[] counts)
    {
        var variants = new Dictionary<string, VariantTally>();
        foreach (var (variant, requests) in counts)
        {
            var tally = new VariantTally();
            for (var i = 0; i < requests; i++)
            {
                tally.AddRequest(false, false, 100, 10, 5, 0.001);
            }

            variants[variant] = tally;
        }

        return new TallyBatch(replica, sequence, variants);
    }
}
