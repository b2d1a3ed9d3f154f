using Microsoft.Extensions.DependencyInjection;
using Navigator.Silo.Hosting;
using Orleans.TestingHost;

namespace Navigator.Grains.Tests;

/// <summary>A two-silo in-process test cluster whose grain state goes to Azurite.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        var serviceId = Testing.TestStorage.NewServiceId("grains");
        builder.Options.ServiceId = serviceId;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddNavigatorStorage(Testing.TestStorage.ConnectionString, serviceId);
            silo.Services.AddNavigatorGrains(silo.Configuration);
            // 1 MB: 64 KB a cache shard, so a test can fill one past its limit.
            silo.Services.Configure<Caching.ResponseCacheOptions>(o => o.MaxMegabytes = 1);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
