using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;
using Navigator.Grains.Caching;
using Navigator.Grains.Experiments;
using Navigator.Grains.PromptConfig;
using Navigator.Grains.Providers;
using Navigator.Grains.Quotas;

namespace Navigator.UnitTests;

/// <summary>
/// Every grain call a request may await, against a grain that never answers: the wait ends with the request's
/// deadline (here a token cancelled after 200 ms), not with Orleans' 5 s response timeout, which would outlive the
/// 3 s deadline and end as a 500. The pipeline turns the deadline's cancellation into a 504 (CareerPathPipeline).
/// The budget lease's wait has its own test (BudgetLeasesTests).
/// </summary>
public sealed class HungGrainTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(200);

    /// <summary>Far below Orleans' 5 s: a wait not bounded by the token fails the test here instead of hanging it.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task The_feature_config_read_on_a_replicas_first_request_ends_at_the_deadline()
    {
        var grain = TestDoubles.Hung<IPromptConfigGrain>();
        var configs = new FeatureConfigCache(TestDoubles.Grains(grain), Options.Create(new RequestOptions()), NullLogger<FeatureConfigCache>.Instance);

        await EndsAtDeadlineAsync(token => configs.GetAsync(token).AsTask());

        Assert.Equal(1, TestDoubles.CallsTo(grain));
    }

    [Fact]
    public async Task A_request_before_the_experiment_catalog_was_first_read_waits_only_until_its_deadline()
    {
        var configs = new FeatureConfigCache(TestDoubles.Grains(), Options.Create(new RequestOptions()), NullLogger<FeatureConfigCache>.Instance);
        var experiments = new ExperimentCache(TestDoubles.Grains(TestDoubles.Hung<IExperimentCatalogGrain>()), configs, NullLogger<ExperimentCache>.Instance);

        await EndsAtDeadlineAsync(token => experiments.AssignAsync(null!, "user-1", token).AsTask());
    }

    [Fact]
    public async Task Resolving_a_variants_pinned_versions_ends_at_the_deadline()
    {
        // A running experiment whose one variant pins a feature version; the catalog and the experiment answer, the
        // feature's grain (which resolves the pinned versions) never does.
        const string Feature = "career_path_navigator";
        var definition = new ExperimentDefinition("exp-1", ExperimentDefinition.Running, "salt",
            [new ExperimentVariant("pinned", 100, null) { FeatureVersion = "1.0.0", Buckets = [new BucketRange(0, VariantAssigner.Buckets)] }])
        {
            Feature = Feature,
            Revision = 1,
        };
        var catalog = TestDoubles.Answering<IExperimentCatalogGrain>(new Dictionary<string, object?>
        {
            [nameof(IExperimentCatalogGrain.GetSigningKeyAsync)] = new byte[32],
            [nameof(IExperimentCatalogGrain.ListAsync)] = (IReadOnlyList<ExperimentSummary>)[new ExperimentSummary("exp-1", Feature, ExperimentDefinition.Running, 1, DateTimeOffset.UnixEpoch)],
        });
        var experiment = TestDoubles.Answering<IExperimentGrain>(new Dictionary<string, object?> { [nameof(IExperimentGrain.GetDefinitionAsync)] = definition });
        var feature = TestDoubles.Hung<IPromptConfigGrain>();
        var configs = new FeatureConfigCache(TestDoubles.Grains(), Options.Create(new RequestOptions()), NullLogger<FeatureConfigCache>.Instance);
        using var experiments = new ExperimentCache(TestDoubles.Grains(catalog, experiment, feature), configs, NullLogger<ExperimentCache>.Instance);
        await experiments.StartAsync(CancellationToken.None);
        var loaded = System.Diagnostics.Stopwatch.StartNew();
        while (experiments.RunningOn(Feature) is null)
        {
            Assert.True(loaded.Elapsed < Bound, "the experiment was not loaded");
            await Task.Delay(10);
        }

        var active = new FeatureSnapshot(Feature, "1.2.3", "v1", "system", "v1", "user", Failovers.Context(DateTimeOffset.UtcNow).Settings, Revision: 7);

        await EndsAtDeadlineAsync(token => experiments.AssignAsync(active, "user-1", token).AsTask());

        Assert.Equal(1, TestDoubles.CallsTo(feature));
        await experiments.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_user_quota_refresh_before_a_refusal_ends_at_the_deadline()
    {
        var grain = TestDoubles.Hung<IUserQuotaGrain>();
        var quotas = new UserQuotas(
            TestDoubles.Grains(grain),
            new BudgetLeases(TestDoubles.Grains(), new BudgetMonitor(TestDoubles.Meters()), TimeProvider.System, NullLogger<BudgetLeases>.Instance),
            TestDoubles.Options(new UserQuotaOptions { RequestsPerDay = 1 }),
            TimeProvider.System,
            NullLogger<UserQuotas>.Instance);
        var now = TimeProvider.System.GetUtcNow();
        Assert.Null(await quotas.TryStartAsync("user-1", now, CancellationToken.None)); // the first is decided locally

        // The second is over the limit: refused only on the cluster's fresh count, which never comes.
        await EndsAtDeadlineAsync(token => quotas.TryStartAsync("user-1", now, token).AsTask());

        Assert.Equal(1, TestDoubles.CallsTo(grain));
    }

    [Fact]
    public async Task A_half_open_circuits_probe_permit_ends_at_the_deadline()
    {
        var grain = TestDoubles.Hung<IProviderHealthGrain>();
        var circuits = Failovers.Circuits(TestDoubles.Grains(grain), TimeProvider.System, TestDoubles.Meters());

        await EndsAtDeadlineAsync(token => circuits.TryAcquireProbeAsync(ProviderNames.OpenAI, token));

        Assert.Equal(1, TestDoubles.CallsTo(grain));
    }

    [Fact]
    public async Task The_response_cache_claim_ends_at_the_deadline()
    {
        var (cache, shard) = Cache();

        await EndsAtDeadlineAsync(token => cache.ClaimAsync(Plan, TimeSpan.FromSeconds(10), token));

        Assert.Equal(1, TestDoubles.CallsTo(shard));
    }

    [Fact]
    public async Task A_claim_the_shard_does_not_answer_within_its_wait_lets_this_replica_fill_the_entry()
    {
        var (cache, _) = Cache();

        var claim = await cache.ClaimAsync(Plan, TimeSpan.FromMilliseconds(50), CancellationToken.None).WaitAsync(Bound);

        Assert.Equal((null, null, true), claim);
    }

    [Fact]
    public void Abandoning_a_fill_does_not_wait_for_the_shard()
    {
        var (cache, shard) = Cache();

        cache.Abandon(Plan); // returns at once although the shard never answers

        Assert.Equal(1, TestDoubles.CallsTo(shard));
    }

    private static readonly CachePlan Plan = new("answer:test", ProviderNames.OpenAI, "gpt-4o", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2));

    private static (ResponseCache Cache, IResponseCacheGrain Shard) Cache()
    {
        var shard = TestDoubles.Hung<IResponseCacheGrain>();
        var meters = TestDoubles.Meters();
        var cache = new ResponseCache(
            new ServiceCollection().AddHybridCache().Services.BuildServiceProvider().GetRequiredService<HybridCache>(),
            TestDoubles.Grains(shard),
            TestDoubles.Options(new CacheOptions()),
            TimeProvider.System,
            new GatewayMetrics(meters),
            NullLogger<ResponseCache>.Instance);
        return (cache, shard);
    }

    private static async Task EndsAtDeadlineAsync(Func<CancellationToken, Task> call)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        var waiting = call(deadline.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));
        Assert.True(deadline.IsCancellationRequested);
    }
}
