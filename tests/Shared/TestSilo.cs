using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Navigator.Silo.Hosting;
using Orleans.Configuration;

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

    public static async Task<TestSilo> StartAsync(string clusterId, string serviceId)
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
        builder.AddNavigatorSilo();
        var host = builder.Build();
        await host.StartAsync();
        return new TestSilo(host, clusterId, serviceId);
    }

    /// <summary>An Orleans client host connected to this silo's cluster through Azure Table membership.</summary>
    public async Task<IHost> StartClientAsync()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ServiceId;
            });
            client.UseAzureStorageClustering(o => o.TableServiceClient = new Azure.Data.Tables.TableServiceClient(TestStorage.ConnectionString));
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
