using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Navigator.Silo.Hosting;
using Orleans.Configuration;
using Navigator.Grains.Hosting;

namespace Navigator.Testing;

/// <summary>A real Navigator silo (the Silo project's own hosting code) in this process, against Azurite.</summary>
public sealed class TestSilo : IAsyncDisposable
{
    private TestSilo(IHost host, string clusterId, string serviceId)
    {
        Host = host;
        ClusterId = clusterId;
        ServiceId = serviceId;
    }

    public IHost Host { get; }
    public string ClusterId { get; }
    public string ServiceId { get; }

    public static async Task<TestSilo> StartAsync(string clusterId, string serviceId, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:AzureStorage"] = TestStorage.ConnectionString,
            ["Orleans:ClusterId"] = clusterId,
            ["Orleans:ServiceId"] = serviceId,
            ["Orleans:SiloPort"] = TestStorage.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans:GatewayPort"] = TestStorage.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans:Dashboard"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        if (TestClock.IsShifted)
        {
            builder.Services.AddKeyedSingleton(Navigator.Grains.LedgerClock.Key, TestClock.Suite);
        }

        builder.AddNavigatorSilo();
        var host = builder.Build();
        await host.StartAsync();
        return new TestSilo(host, clusterId, serviceId);
    }

    /// <summary>An Orleans client host connected to this silo's cluster through Azure Table membership.</summary>
    public Task<IHost> StartClientAsync() => StartClientAsync(ClusterId, ServiceId);

    /// <summary>An Orleans client host for a cluster, tuned like the API's: it notices a lost gateway within a second.</summary>
    public static async Task<IHost> StartClientAsync(string clusterId, string serviceId, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
            client.UseAzureStorageClustering(o => o.TableServiceClient = new Azure.Data.Tables.TableServiceClient(TestStorage.ConnectionString));
            client.UseNavigatorClientDefaults();
        });
        builder.Logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Warning);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync(TimeSpan.FromSeconds(10));
        Host.Dispose();
    }
}

public static class HostExtensions
{
    public static IClusterClient ClusterClient(this IHost host) => host.Services.GetRequiredService<IClusterClient>();
}
