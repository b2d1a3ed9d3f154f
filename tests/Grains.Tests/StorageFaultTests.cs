using Microsoft.Extensions.DependencyInjection;
using Navigator.Grains.Experiments;
using Navigator.Grains.PromptConfig;
using Navigator.Grains.Providers;
using Navigator.Grains.Stats;
using Navigator.Silo.Hosting;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Navigator.Grains.Tests;

/// <summary>A storage provider ("config" or "ledger") wrapped so a test can make its writes and reads fail, as a storage outage would.</summary>
public sealed class FlakyGrainStorage(IGrainStorage inner) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public static volatile bool FailWrites;

    /// <summary>Reads fail too: a grain cannot restore its state by reading it back.</summary>
    public static volatile bool FailReads;

    /// <summary>A write lands in storage and then reports a failure (a timeout after the commit).</summary>
    public static volatile bool LandThenFail;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        FailReads ? throw new IOException("Injected storage failure.") : inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (FailWrites)
        {
            throw new IOException("Injected storage failure.");
        }

        if (LandThenFail)
        {
            // Stored, but the caller learns only of a failure, and its copy keeps the version it wrote over.
            var version = grainState.ETag;
            await inner.WriteStateAsync(stateName, grainId, grainState);
            grainState.ETag = version;
            throw new TimeoutException("Injected: the write landed, its answer did not.");
        }

        await inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);

    public void Participate(ISiloLifecycle observer) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(observer);

    /// <summary>Replaces the keyed storage named <paramref name="name"/> with a wrapper around it.</summary>
    public static void Wrap(IServiceCollection services, string name)
    {
        var original = services.Single(d => d.ServiceType == typeof(IGrainStorage) && Equals(d.ServiceKey, name));
        services.Remove(original);
        services.AddKeyedSingleton<IGrainStorage>(name, (sp, key) =>
            new FlakyGrainStorage((IGrainStorage)original.KeyedImplementationFactory!(sp, key)));
    }
}

/// <summary>A silo whose "config" and "ledger" storage fail on demand.</summary>
public sealed class FlakyStorageFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        var serviceId = Testing.TestStorage.NewServiceId("flaky");
        builder.Options.ServiceId = serviceId;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddNavigatorStorage(Testing.TestStorage.ConnectionString, serviceId);
            silo.Services.AddNavigatorGrains(silo.Configuration);
            FlakyGrainStorage.Wrap(silo.Services, "config");
            FlakyGrainStorage.Wrap(silo.Services, "ledger");
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        FlakyGrainStorage.FailWrites = false;
        FlakyGrainStorage.FailReads = false;
        FlakyGrainStorage.LandThenFail = false;
        await Cluster.DisposeAsync();
    }

    /// <summary>Runs <paramref name="change"/> while storage fails writes (and reads, when asked), and expects it to fail.</summary>
    public static async Task FailsWhileStorageIsDownAsync(Func<Task> change, bool readsToo = false)
    {
        FlakyGrainStorage.FailWrites = true;
        FlakyGrainStorage.FailReads = readsToo;
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(change);
        }
        finally
        {
            FlakyGrainStorage.FailWrites = false;
            FlakyGrainStorage.FailReads = false;
        }
    }
}

public sealed class StorageFaultTests(FlakyStorageFixture fixture) : IClassFixture<FlakyStorageFixture>
{
    [Fact]
    public async Task A_change_whose_write_fails_is_undone_and_the_next_change_is_written()
    {
        var grain = fixture.Cluster.Client.GetGrain<IPromptConfigGrain>("career_path_navigator");
        var before = (await grain.GetActiveAsync())!;
        var overview = await grain.GetOverviewAsync();
        Assert.Equal("1.2.3", before.FeatureVersion);

        FlakyGrainStorage.FailWrites = true;
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => grain.RollbackAsync("1.2.2", "alice", "storage is down"));
            await Assert.ThrowsAnyAsync<Exception>(() => grain.PublishPromptAsync("system", "v9.0", "Never saved.", "alice"));
        }
        finally
        {
            FlakyGrainStorage.FailWrites = false;
        }

        // Nothing that was never saved is live: not the activation, not the prompt, not their audit entries.
        var after = (await grain.GetActiveAsync())!;
        Assert.Equal((before.FeatureVersion, before.SystemPromptVersion, before.Revision), (after.FeatureVersion, after.SystemPromptVersion, after.Revision));
        var reread = await grain.GetOverviewAsync();
        Assert.Equal(overview.Prompts, reread.Prompts);
        Assert.Equal(overview.Audit.Count, reread.Audit.Count);

        // Storage is back: the same change is written, and survives a new activation.
        Assert.Equal(ChangeOutcome.Applied, (await grain.RollbackAsync("1.2.2", "alice", "storage is back")).Outcome);
        await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal("1.2.2", (await grain.GetActiveAsync())!.FeatureVersion);
    }

    // Writes and reads both fail: a grain that could only restore its state by reading it back keeps what it never saved.

    [Fact]
    public async Task A_stats_batch_that_was_not_stored_is_not_served_and_the_replicas_retry_counts_once()
    {
        var now = DateTimeOffset.UtcNow;
        var stats = fixture.Cluster.Client.GetGrain<IGatewayStatsGrain>(StatsSlot.HourKey(now));
        var figures = new StatsFigures();
        figures.AddRequest(StatsFigures.SuccessLabel, 120, 300, 200, 0.004m, cached: false, failover: false);
        var batch = new StatsBatch($"replica-{Guid.NewGuid():N}", 1, new Dictionary<StatsSlot, StatsFigures> { [StatsSlot.Of(now, "openai")] = figures });
        var before = await RequestsAsync(stats, now);

        await FlakyStorageFixture.FailsWhileStorageIsDownAsync(() => stats.RecordAsync(batch), readsToo: true);

        Assert.Equal(before, await RequestsAsync(stats, now));
        await stats.RecordAsync(batch); // the replica's retry
        Assert.Equal(before + 1, await RequestsAsync(stats, now));
    }

    [Fact]
    public async Task A_rating_that_was_not_stored_is_counted_when_it_is_sent_again()
    {
        var feedback = fixture.Cluster.Client.GetGrain<IFeedbackGrain>(Random.Shared.NextInt64());
        var rating = new FeedbackRating($"req-{Guid.NewGuid():N}", null, null, Up: true, DateTimeOffset.UtcNow.AddDays(30));
        // Active before storage fails, so the failure hits its write (not its activation's read).
        Assert.Equal(FeedbackOutcome.Counted, await feedback.RateAsync(rating with { RequestId = $"req-{Guid.NewGuid():N}" }));

        await FlakyStorageFixture.FailsWhileStorageIsDownAsync(() => feedback.RateAsync(rating), readsToo: true);

        Assert.Equal(FeedbackOutcome.Counted, await feedback.RateAsync(rating));
    }

    [Fact]
    public async Task An_experiment_change_the_catalog_could_not_store_is_not_served()
    {
        var experiment = fixture.Cluster.Client.GetGrain<IExperimentGrain>("provider_comparison");
        var catalog = fixture.Cluster.Client.GetGrain<IExperimentCatalogGrain>(IExperimentCatalogGrain.Key);
        Assert.Equal(ExperimentDefinition.Running, (await experiment.GetDefinitionAsync())!.Status);

        // The catalog's write fails first, before the experiment's own.
        await FlakyStorageFixture.FailsWhileStorageIsDownAsync(() => experiment.TransitionAsync("pause", "alice", "storage is down"));

        Assert.Equal(ExperimentDefinition.Running, (await experiment.GetDefinitionAsync())!.Status);
        Assert.Equal(ExperimentDefinition.Running, (await catalog.ListAsync()).Single(e => e.Id == "provider_comparison").Status);
    }

    [Fact]
    public async Task A_circuit_mode_whose_write_landed_although_it_reported_a_failure_is_live_and_later_writes_work()
    {
        var health = fixture.Cluster.Client.GetGrain<IProviderHealthGrain>($"provider-{Guid.NewGuid():N}");
        Assert.Equal(CircuitMode.Auto, (await health.GetStatusAsync()).Mode);

        FlakyGrainStorage.LandThenFail = true;
        CircuitSnapshot landed;
        try
        {
            landed = await health.SetModeAsync(CircuitMode.ForceOpen, "alice");
        }
        finally
        {
            FlakyGrainStorage.LandThenFail = false;
        }

        // Storage holds forceOpen, so forceOpen is live; and the grain's next write is not refused as a stale version.
        Assert.Equal(CircuitMode.ForceOpen, landed.Mode);
        Assert.Equal(CircuitMode.Auto, (await health.SetModeAsync(CircuitMode.Auto, "alice")).Mode);
        await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(CircuitMode.Auto, (await health.GetStatusAsync()).Mode);
    }

    private static async Task<long> RequestsAsync(IGatewayStatsGrain stats, DateTimeOffset now) =>
        (await stats.QueryAsync(now.AddHours(-1))).Providers.GetValueOrDefault("openai")?.Requests ?? 0;

    [Fact]
    public async Task Prompts_over_the_size_cap_are_refused_and_change_nothing()
    {
        var grain = fixture.Cluster.Client.GetGrain<IPromptConfigGrain>("career_path_navigator");
        var before = await grain.GetOverviewAsync();

        var result = await grain.PublishPromptAsync("system", "v8.0", new string('x', FeatureConfigValidator.MaxPromptLength + 1), "alice");

        Assert.Equal(ChangeOutcome.Invalid, result.Outcome);
        Assert.Contains(result.Errors, e => e.Pointer == "/text");
        var after = await grain.GetOverviewAsync();
        Assert.Equal((before.Revision, before.Prompts.Count, before.Audit.Count), (after.Revision, after.Prompts.Count, after.Audit.Count));
    }
}
