using System.Runtime.InteropServices;

namespace Navigator.FakeUpstream;

/// <summary>Runs the fake upstream as a process: dotnet run --project tools/FakeUpstream -- [port=5099]. Stops on SIGINT or SIGTERM.</summary>
public static class FakeUpstreamProgram
{
    public static async Task Main(string[] args)
    {
        var port = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5099;
        await using var app = await FakeUpstreamApp.StartAsync(port);
        Console.WriteLine($"Fake OpenAI/Anthropic upstream on {app.BaseUrl} (OpenAI base URL {app.BaseUrl}/v1). Ctrl-C to stop.");
        var stop = new TaskCompletionSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        await stop.Task;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
    }
}
