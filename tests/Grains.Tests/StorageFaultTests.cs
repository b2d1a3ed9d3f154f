using Microsoft.Extensions.DependencyInjection;
using Navigator.Grains.PromptConfig;
using Navigator.Silo.Hosting;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Navigator.Grains.Tests;

/// <summary>The "config" storage provider wrapped so a test can make its writes fail, as a storage outage would.</summary>
public sealed class FlakyGrainStorage(IGrainStorage inner) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public static volatile bool FailWrites;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        FailWrites ? throw new IOException("Injected storage failure.") : inner.WriteStateAsync(stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);

    public void Participate(ISiloLifecycle observer) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(observer);

    /// <summary>Replaces the keyed "config" storage with a wrapper around it.</summary>
    public static void Wrap(IServiceCollection services, string name)
    {
        var original = services.Single(d => d.ServiceType == typeof(IGrainStorage) && Equals(d.ServiceKey, name));
        services.Remove(original);
        services.AddKeyedSingleton<IGrainStorage>(name, (sp, key) =>
            new FlakyGrainStorage((IGrainStorage)original.KeyedImplementationFactory!(sp, key)));
    }
}

/// <summary>A silo whose "config" storage fails on demand.</summary>
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
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        FlakyGrainStorage.FailWrites = false;
        await Cluster.DisposeAsync();
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
