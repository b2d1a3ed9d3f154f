using System.Diagnostics;
using System.Globalization;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>Outside Development the API process refuses to start with keys that anyone could guess or share.</summary>
public sealed class StartupRefusalTests
{
    private static readonly string Strong = new('s', 40);

    [Theory]
    [InlineData(null, null, "NAVIGATOR_CLIENT_KEY")]
    [InlineData("dev-client-key", "dev-admin-key", "NAVIGATOR_CLIENT_KEY (Auth:ClientKey) is the development default")]
    [InlineData("0123456789abcdef0123456789abcdef-same", "0123456789abcdef0123456789abcdef-same", "A client key equals an admin key")]
    [InlineData("0123456789abcdef0123456789abcdef-client", "0123456789abcdef0123456789abcdef-admin", "NAVIGATOR_TELEMETRY_KEY (Telemetry:UserIdKey) must be a secret", "")]
    public async Task The_api_exits_and_names_the_setting(string? clientKey, string? adminKey, string message, string? telemetryKey = null)
    {
        var (exitCode, output) = await RunApiAsync(clientKey, adminKey, TimeSpan.FromSeconds(60), telemetryKey: telemetryKey);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(message, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Strong_distinct_keys_start_outside_development()
    {
        // It answers /health/live (there is no cluster, so it is not ready) and is stopped.
        var (exitCode, output) = await RunApiAsync(Strong, Strong.Replace('s', 'a'), TimeSpan.FromSeconds(60), untilLive: true);

        Assert.Null(exitCode);
        Assert.DoesNotContain("OptionsValidationException", output, StringComparison.Ordinal);
    }

    /// <summary>Runs the API in Production; returns its exit code (null if it was still running after <paramref name="patience"/>) and output.</summary>
    private static async Task<(int? ExitCode, string Output)> RunApiAsync(
        string? clientKey, string? adminKey, TimeSpan patience, bool untilLive = false, string? telemetryKey = null)
    {
        var port = TestStorage.FreePort();
        var data = Directory.CreateTempSubdirectory("navigator-refusal-").FullName;
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { ApiProcess.ApiDll(), "--contentRoot", Path.GetDirectoryName(ApiProcess.ApiDll())! },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ConnectionStrings__AzureStorage"] = TestStorage.ConnectionString,
                ["Orleans__ClusterId"] = TestStorage.NewServiceId("refusal"),
                ["NAVIGATOR_API_PORT"] = port.ToString(CultureInfo.InvariantCulture),
                ["NAVIGATOR_DATA_DIR"] = data,
                ["NAVIGATOR_CLIENT_KEY"] = clientKey ?? "",
                ["NAVIGATOR_ADMIN_KEY"] = adminKey ?? "",
                ["NAVIGATOR_TELEMETRY_KEY"] = telemetryKey ?? Strong.Replace('s', 't'),
            },
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var exited = process.WaitForExitAsync();
        int? exitCode = null;
        try
        {
            // Either it exits (refused), or (untilLive) it answers /health/live; a TimeoutException fails the test.
            await (untilLive ? WaitUntilLiveAsync(port, exited) : exited).WaitAsync(patience);
        }
        finally
        {
            if (process.HasExited)
            {
                exitCode = process.ExitCode;
            }
            else
            {
                process.Kill(entireProcessTree: true);
                await exited;
            }
        }

        Directory.Delete(data, recursive: true);
        return (exitCode, await stdout + await stderr);
    }

    private static async Task WaitUntilLiveAsync(int port, Task exited)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(2) };
        while (!exited.IsCompleted)
        {
            try
            {
                if ((await http.GetAsync("/health/live")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException)
            {
                // not answering yet
            }

            await Task.Delay(200);
        }
    }
}
