using System.Diagnostics;
using System.Globalization;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>A real silo process (Navigator.Silo.dll) on loopback, against Azurite.</summary>
public sealed class SiloProcess : ServiceProcess
{
    private SiloProcess(int httpPort) => HttpPort = httpPort;

    public int HttpPort { get; }

    /// <summary>Starts a silo; <paramref name="settings"/> add to or replace its environment.</summary>
    public static async Task<SiloProcess> StartAsync(string clusterId, string serviceId, IReadOnlyDictionary<string, string>? settings = null)
    {
        var dir = AppContext.BaseDirectory;
        var silo = new SiloProcess(TestStorage.FreePort());
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(dir, "Navigator.Silo.dll"), "--contentRoot", dir },
            Environment =
            {
                ["ConnectionStrings__AzureStorage"] = TestStorage.ConnectionString,
                ["Orleans__ClusterId"] = clusterId,
                ["Orleans__ServiceId"] = serviceId,
                ["Orleans__SiloPort"] = TestStorage.FreePort().ToString(CultureInfo.InvariantCulture),
                ["Orleans__GatewayPort"] = TestStorage.FreePort().ToString(CultureInfo.InvariantCulture),
                ["Orleans__Dashboard"] = "false",
                ["Silo__HttpPort"] = silo.HttpPort.ToString(CultureInfo.InvariantCulture),
                ["Logging__LogLevel__Default"] = "Warning",
                // Leases whose replica stopped reporting expire within the tests' patience.
                ["budgetLeases__leaseTtlSeconds"] = "4",
            },
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        await silo.StartAsync(start, new Uri($"http://127.0.0.1:{silo.HttpPort}/health/live"), "silo", TimeSpan.FromSeconds(60));
        return silo;
    }
}
