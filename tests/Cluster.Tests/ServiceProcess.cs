using System.Diagnostics;

namespace Navigator.Cluster.Tests;

/// <summary>A real service process (a silo or an API replica) on loopback, with its output kept for failure messages.</summary>
public abstract class ServiceProcess : IAsyncDisposable
{
    private readonly StringWriter _log = new();
    private Process? _process;

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

    /// <summary>SIGKILL: no shutdown, no membership update, no last report, no flushing.</summary>
    public void Kill()
    {
        _process!.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod: the host shuts down gracefully. Returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan patience)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(patience);
        return _process.ExitCode;
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Starts the process and waits until <paramref name="health"/> answers 2xx.</summary>
    protected async Task StartAsync(ProcessStartInfo start, Uri health, string name, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start the {name} process.");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The {name} exited during start-up:\n{Log}");
            }

            try
            {
                if ((await http.GetAsync(health)).IsSuccessStatusCode)
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

        throw new TimeoutException($"The {name} did not become ready within {timeout}:\n{Log}");
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
}
