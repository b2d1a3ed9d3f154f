using System.Diagnostics;
using System.Globalization;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>A real API replica process (Navigator.Api.dll from the solution's build output) on loopback.</summary>
public sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringWriter _log = new();

    private ApiProcess(Process process, int port, string dataDirectory)
    {
        _process = process;
        Port = port;
        DataDirectory = dataDirectory;
    }

    public int Port { get; }

    public string DataDirectory { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<ApiProcess> StartAsync(string clusterId, string serviceId)
    {
        var dll = ApiDll();
        var port = TestStorage.FreePort();
        var data = Path.Combine(Path.GetTempPath(), $"navigator-api-process-{Guid.NewGuid():N}");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "--contentRoot", Path.GetDirectoryName(dll)! },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment =
            {
                ["ConnectionStrings__AzureStorage"] = TestStorage.ConnectionString,
                ["Orleans__ClusterId"] = clusterId,
                ["Orleans__ServiceId"] = serviceId,
                ["NAVIGATOR_API_PORT"] = port.ToString(CultureInfo.InvariantCulture),
                ["NAVIGATOR_DATA_DIR"] = data,
                ["Logging__LogLevel__Default"] = "Warning",
                ["providers__openai__simulated__latencyMs"] = "5",
                ["providers__openai__simulated__latencyJitterMs"] = "5",
            },
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the API process.");
        var api = new ApiProcess(process, port, data);
        process.OutputDataReceived += (_, e) => api.Append(e.Data);
        process.ErrorDataReceived += (_, e) => api.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await api.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
        return api;
    }

    /// <summary>SIGKILL: no shutdown, no last report, no lease returned.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }

    /// <summary>Api/bin/{configuration}/net10.0/Navigator.Api.dll, built with the rest of the solution.</summary>
    private static string ApiDll()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = here.Parent!.Name; // .../bin/{configuration}/net10.0/
        for (var dir = here; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Navigator.sln")))
            {
                var dll = Path.Combine(dir.FullName, "Api", "bin", configuration, "net10.0", "Navigator.Api.dll");
                return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the solution first; the API is not built.", dll);
            }
        }

        throw new DirectoryNotFoundException("Navigator.sln was not found above the test's folder.");
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.WriteLine(line);
            }
        }
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The API exited during start-up:\n{Log}");
            }

            try
            {
                if ((await http.GetAsync(new Uri(BaseAddress, "/health/ready"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The API did not become ready within {timeout}:\n{Log}");
    }
}
