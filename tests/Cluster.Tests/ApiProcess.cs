using System.Diagnostics;
using System.Globalization;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>A real API replica process (Navigator.Api.dll from the solution's build output) on loopback.</summary>
public sealed class ApiProcess : ServiceProcess
{
    private ApiProcess(int port, string dataDirectory)
    {
        Port = port;
        DataDirectory = dataDirectory;
    }

    public int Port { get; }

    public string DataDirectory { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    /// <summary>Starts an API process and waits until it is ready, or only live with <paramref name="waitForReady"/> false.</summary>
    public static async Task<ApiProcess> StartAsync(string clusterId, string serviceId, bool waitForReady = true, IReadOnlyDictionary<string, string>? settings = null)
    {
        var dll = ApiDll();
        var api = new ApiProcess(TestStorage.FreePort(), Path.Combine(Path.GetTempPath(), $"navigator-api-process-{Guid.NewGuid():N}"));
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "--contentRoot", Path.GetDirectoryName(dll)! },
            Environment =
            {
                // A loopback test replica, like ./run.sh: the well-known development keys.
                ["ASPNETCORE_ENVIRONMENT"] = "Development",
                // These tests count what the month was charged: no LLM-judge calls on top.
                ["experiments__judgeSampleRate"] = "0",
                ["ConnectionStrings__AzureStorage"] = TestStorage.ConnectionString,
                ["Orleans__ClusterId"] = clusterId,
                ["Orleans__ServiceId"] = serviceId,
                ["NAVIGATOR_API_PORT"] = api.Port.ToString(CultureInfo.InvariantCulture),
                ["NAVIGATOR_DATA_DIR"] = api.DataDirectory,
                ["Logging__LogLevel__Default"] = "Warning",
                ["providers__openai__simulated__latencyMs"] = "5",
                ["providers__openai__simulated__latencyJitterMs"] = "5",
            },
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        await api.StartAsync(start, new Uri(api.BaseAddress, waitForReady ? "/health/ready" : "/health/live"), "API", TimeSpan.FromSeconds(60));
        return api;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }

    /// <summary>Api/bin/{configuration}/net10.0/Navigator.Api.dll, built with the rest of the solution.</summary>
    internal static string ApiDll()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // .../bin/{configuration}/net10.0/
        var dll = Path.Combine(Repository.Root, "Api", "bin", configuration, "net10.0", "Navigator.Api.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the solution first; the API is not built.", dll);
    }
}
