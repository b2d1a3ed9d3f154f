using System.Diagnostics;
using System.Globalization;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>A real silo process (Navigator.Silo.dll) on loopback, against Azurite.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringWriter _log = new();

    private SiloProcess(Process process, int httpPort)
    {
        _process = process;
        HttpPort = httpPort;
    }

    public int HttpPort { get; }

    public int ProcessId => _process.Id;

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

    public static async Task<SiloProcess> StartAsync(string clusterId, string serviceId)
    {
        var dir = AppContext.BaseDirectory;
        var httpPort = TestStorage.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(dir, "Navigator.Silo.dll"), "--contentRoot", dir },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment =
            {
                ["ConnectionStrings__AzureStorage"] = TestStorage.ConnectionString,
                ["Orleans__ClusterId"] = clusterId,
                ["Orleans__ServiceId"] = serviceId,
                ["Orleans__SiloPort"] = TestStorage.FreePort().ToString(CultureInfo.InvariantCulture),
                ["Orleans__GatewayPort"] = TestStorage.FreePort().ToString(CultureInfo.InvariantCulture),
                ["Orleans__Dashboard"] = "false",
                ["Silo__HttpPort"] = httpPort.ToString(CultureInfo.InvariantCulture),
                ["Logging__LogLevel__Default"] = "Warning",
                // Leases whose replica stopped reporting expire within the tests' patience.
                ["budgetLeases__leaseTtlSeconds"] = "4",
            },
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the silo process.");
        var silo = new SiloProcess(process, httpPort);
        process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await silo.WaitUntilLiveAsync(TimeSpan.FromSeconds(60));
        return silo;
    }

    /// <summary>SIGKILL: no shutdown, no membership update, no flushing.</summary>
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

    private async Task WaitUntilLiveAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The silo exited during start-up:\n{Log}");
            }

            try
            {
                if ((await http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}/health/live"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The silo did not become live within {timeout}:\n{Log}");
    }
}
