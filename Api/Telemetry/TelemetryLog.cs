using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;

namespace Navigator.Api.Telemetry;

/// <summary>
/// Where the request lines go and how long they stay. Section <c>Telemetry</c>; the user-id key also comes from
/// <c>NAVIGATOR_TELEMETRY_KEY</c>.
/// </summary>
public sealed class TelemetryLogOptions
{
    public const string Section = "Telemetry";
    public const string DevelopmentUserIdKey = "dev-telemetry-key";

    /// <summary>The folder for <c>requests-yyyy-MM-dd[.n].jsonl</c> files.</summary>
    public string Directory { get; set; } = Path.Combine(".data", "telemetry");

    /// <summary>Write the lines to files in <see cref="Directory"/>.</summary>
    public bool File { get; set; } = true;

    /// <summary>Also write each line to standard output (for a cluster's log collector).</summary>
    public bool Stdout { get; set; }

    /// <summary>Also log each line (category <c>Navigator.RequestTelemetry</c>), exported as OTLP logs when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
    public bool Otlp { get; set; }

    /// <summary>A day's file that reaches this size is continued in <c>requests-yyyy-MM-dd.1.jsonl</c>, then <c>.2</c>, and so on.</summary>
    public long MaxFileBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Files of days older than this many days before the newest line are deleted; 0 keeps every file.</summary>
    public int RetentionDays { get; set; } = 14;

    /// <summary>Lines waiting for the writer; beyond it a line is dropped and counted, and the request is not slowed.</summary>
    public int QueueCapacity { get; set; } = 100_000;

    /// <summary>The HMAC key that turns a user id into the <c>userIdHash</c> of a line.</summary>
    public string? UserIdKey { get; set; }
}

/// <summary>Refuses a telemetry set-up that writes nowhere, or that hashes user ids with a guessable key outside Development.</summary>
public sealed class TelemetryLogOptionsValidator(IHostEnvironment environment) : Microsoft.Extensions.Options.IValidateOptions<TelemetryLogOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, TelemetryLogOptions options)
    {
        var errors = new List<string>();
        if (!options.File && !options.Stdout && !options.Otlp)
        {
            errors.Add("Telemetry:File, Telemetry:Stdout and Telemetry:Otlp are all off: request lines would go nowhere.");
        }

        if (options.MaxFileBytes < 4096)
        {
            errors.Add($"Telemetry:MaxFileBytes is {options.MaxFileBytes}; use at least 4096.");
        }

        if (options.RetentionDays < 0 || options.QueueCapacity < 1)
        {
            errors.Add("Telemetry:RetentionDays must be 0 or more, and Telemetry:QueueCapacity at least 1.");
        }

        if (!environment.IsDevelopment()
            && (options.UserIdKey is not { Length: >= Options.AuthOptions.MinimumKeyLength } || options.UserIdKey == TelemetryLogOptions.DevelopmentUserIdKey))
        {
            errors.Add($"NAVIGATOR_TELEMETRY_KEY (Telemetry:UserIdKey) must be a secret of at least {Options.AuthOptions.MinimumKeyLength} characters outside Development: it keys the hash of user ids in telemetry.");
        }

        return errors.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// Writes one JSON line per request: to daily files (rotated by size, kept for <see cref="TelemetryLogOptions.RetentionDays"/>),
/// and optionally to standard output and to OTLP logs. Requests only enqueue; a background writer drains the queue in
/// batches, and drains it fully when the host stops (SIGTERM included). A full queue or a failed write drops lines and
/// counts them (<c>navigator_telemetry_dropped_lines_total</c>); neither ever stops the host or slows a request.
/// </summary>
/// <remarks>
/// Rotation is written here rather than taken from a logging library's rolling file sink because a line belongs to the
/// file of its request's day by the gateway's clock (the one the budget and the tests use), not by the wall clock at
/// the moment of writing, and the files stay plain JSONL with no logging envelope.
/// </remarks>
public sealed partial class TelemetryLog : BackgroundService
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
    private readonly TelemetryLogOptions _options;
    private readonly ILogger<TelemetryLog> _logger;
    private readonly ILogger _lines;
    private readonly Channel<RequestTelemetry> _queue;
    private readonly Counter<long> _dropped;
    private readonly Dictionary<string, int> _parts = new(StringComparer.Ordinal);
    private string? _retainedThrough;

    public TelemetryLog(Microsoft.Extensions.Options.IOptions<TelemetryLogOptions> options, IMeterFactory meters, ILoggerFactory loggers, ILogger<TelemetryLog> logger)
    {
        _options = options.Value;
        _logger = logger;
        _lines = loggers.CreateLogger("Navigator.RequestTelemetry");
        _queue = Channel.CreateBounded<RequestTelemetry>(
            new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        _dropped = meters.Create(GatewayMetrics.MeterName).CreateCounter<long>(
            "navigator.telemetry.dropped_lines", description: "Request lines not written: the queue was full, or the write failed (reason).");
    }

    public string Directory => _options.Directory;

    public void Write(RequestTelemetry record)
    {
        if (!_queue.Writer.TryWrite(record))
        {
            Dropped(1, "queue_full");
            LogDropped(_logger, record.RequestId);
        }
    }

    /// <summary>The first file of the day of <paramref name="at"/>; later parts of a large day end in <c>.1.jsonl</c>, <c>.2.jsonl</c>, ...</summary>
    public string PathFor(DateTimeOffset at) => PartPath(Day(at), 0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
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
        if (ExecuteTask is { IsCompleted: true })
        {
            // A host stopped right after it started may have cancelled the writer before it ran: the queue is still drained.
            await DrainAsync();
        }
    }

    private async Task DrainAsync()
    {
        var batch = new List<RequestTelemetry>(1000);
        while (_queue.Reader.TryRead(out var first))
        {
            batch.Clear();
            batch.Add(first);
            var day = Day(first.Timestamp);
            while (batch.Count < 1000 && _queue.Reader.TryPeek(out var next) && Day(next.Timestamp) == day && _queue.Reader.TryRead(out next))
            {
                batch.Add(next);
            }

            var lines = batch.ConvertAll(r => JsonSerializer.Serialize(r, JsonOptions));
            if (_options.Stdout)
            {
                await Console.Out.WriteAsync(string.Join('\n', lines) + "\n");
            }

            if (_options.Otlp)
            {
                lines.ForEach(line => LogLine(_lines, line));
            }

            if (_options.File)
            {
                await WriteFileAsync(day, lines);
            }
        }
    }

    private async Task WriteFileAsync(string day, List<string> lines)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var written = 0;
            while (written < lines.Count)
            {
                // One part at a time: a part that reaches the size limit is closed and the next line starts the next part.
                await using var stream = new FileStream(CurrentPart(day), FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
                await using var writer = new StreamWriter(stream);
                do
                {
                    await writer.WriteLineAsync(lines[written++]);
                    await writer.FlushAsync();
                }
                while (written < lines.Count && stream.Length < _options.MaxFileBytes);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            // A full disk or a read-only folder loses these lines, never the host: counted, logged, and the next batch tries again.
            Dropped(lines.Count, "write_error");
            LogWriteFailed(_logger, ex, lines.Count, Directory);
            return;
        }

        try
        {
            DeleteExpired(day);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogRetentionFailed(_logger, ex, Directory);
        }
    }

    /// <summary>The part of <paramref name="day"/> to append to: the newest one, or a new one when it has reached the size limit.</summary>
    private string CurrentPart(string day)
    {
        if (!_parts.TryGetValue(day, out var part))
        {
            part = 0;
            while (System.IO.File.Exists(PartPath(day, part + 1)))
            {
                part++;
            }
        }

        var path = PartPath(day, part);
        if (System.IO.File.Exists(path) && new FileInfo(path).Length >= _options.MaxFileBytes)
        {
            path = PartPath(day, ++part);
        }

        _parts[day] = part;
        return path;
    }

    /// <summary>Once per new day: deletes the files of days more than <see cref="TelemetryLogOptions.RetentionDays"/> before it.</summary>
    private void DeleteExpired(string newestDay)
    {
        if (_options.RetentionDays == 0 || string.CompareOrdinal(newestDay, _retainedThrough) <= 0)
        {
            return;
        }

        _retainedThrough = newestDay;
        var oldestKept = DateTime.ParseExact(newestDay, "yyyy-MM-dd", CultureInfo.InvariantCulture).AddDays(-_options.RetentionDays).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "requests-*.jsonl"))
        {
            var name = Path.GetFileName(file);
            if (name.Length >= 25 && string.CompareOrdinal(name.Substring(9, 10), oldestKept) < 0)
            {
                System.IO.File.Delete(file);
                _parts.Remove(name.Substring(9, 10));
            }
        }
    }

    private string PartPath(string day, int part) => Path.Combine(Directory, part == 0 ? $"requests-{day}.jsonl" : $"requests-{day}.{part}.jsonl");

    private static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private void Dropped(int lines, string reason) => _dropped.Add(lines, new KeyValuePair<string, object?>("reason", reason));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telemetry queue full; dropped the line for request {RequestId}")]
    private static partial void LogDropped(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing {Lines} telemetry lines to {Directory} failed; they are dropped and counted, and the gateway goes on")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, int lines, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleting expired telemetry files in {Directory} failed; retried on the next new day")]
    private static partial void LogRetentionFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Line}")]
    private static partial void LogLine(ILogger logger, string line);
}
