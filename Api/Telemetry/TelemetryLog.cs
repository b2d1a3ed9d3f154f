using System.Text.Json;
using System.Threading.Channels;

namespace Navigator.Api.Telemetry;

public sealed class TelemetryLogOptions
{
    /// <summary>The folder for requests-yyyy-MM-dd.jsonl files.</summary>
    public string Directory { get; set; } = Path.Combine(".data", "telemetry");
}

/// <summary>
/// Appends one JSON line per request to a daily file. Requests only enqueue; a background writer
/// drains the queue in batches, and drains it fully on shutdown.
/// </summary>
public sealed partial class TelemetryLog(
    Microsoft.Extensions.Options.IOptions<TelemetryLogOptions> options,
    ILogger<TelemetryLog> logger) : BackgroundService
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
    private readonly Channel<RequestTelemetry> _queue = Channel.CreateBounded<RequestTelemetry>(
        new BoundedChannelOptions(100_000) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    public string Directory => options.Value.Directory;

    public void Write(RequestTelemetry record)
    {
        if (!_queue.Writer.TryWrite(record))
        {
            LogDropped(record.RequestId);
        }
    }

    public string PathFor(DateTimeOffset at) => Path.Combine(Directory, $"requests-{at.UtcDateTime:yyyy-MM-dd}.jsonl");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await DrainAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: write what is still queued.
        }

        await DrainAsync();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    private async Task DrainAsync()
    {
        while (_queue.Reader.TryRead(out var first))
        {
            var path = PathFor(first.Timestamp);
            await using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            await using var writer = new StreamWriter(stream);
            await writer.WriteLineAsync(JsonSerializer.Serialize(first, JsonOptions));
            var batch = 1;
            while (batch < 1000 && _queue.Reader.TryPeek(out var next) && PathFor(next.Timestamp) == path && _queue.Reader.TryRead(out next))
            {
                await writer.WriteLineAsync(JsonSerializer.Serialize(next, JsonOptions));
                batch++;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telemetry queue full; dropped the line for request {RequestId}")]
    private partial void LogDropped(string requestId);
}
