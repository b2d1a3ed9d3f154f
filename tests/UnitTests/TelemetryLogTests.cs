using System.Diagnostics.Metrics;
using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Navigator.Api.Apis;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;

namespace Navigator.UnitTests;

/// <summary>The JSONL telemetry writer: rotation, retention, lost lines counted, and a host that never stops for it.</summary>
public sealed class TelemetryLogTests : IDisposable
{
    private static readonly DateTimeOffset Day = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("navigator-telemetry-");
    private readonly IMeterFactory _meters = TestDoubles.Meters();

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task A_day_is_split_into_parts_at_the_size_limit_and_days_into_files_with_no_line_lost()
    {
        var log = Log(o => o.MaxFileBytes = 4096);
        await log.StartAsync(CancellationToken.None);
        for (var i = 0; i < 60; i++)
        {
            log.Write(Line($"req-{i}", Day.AddMinutes(i)));
        }

        log.Write(Line("next-day", Day.AddDays(1)));
        await log.StopAsync(CancellationToken.None);

        var parts = Directory.GetFiles(_dir.FullName, "requests-2026-11-20*.jsonl").OrderBy(f => f.Length).ThenBy(f => f, StringComparer.Ordinal).ToList();
        Assert.True(parts.Count >= 3, $"{parts.Count} parts");
        Assert.Equal("requests-2026-11-20.jsonl", Path.GetFileName(parts[0]));
        Assert.Equal("requests-2026-11-20.1.jsonl", Path.GetFileName(parts[1]));
        var longestLine = parts.SelectMany(File.ReadLines).Max(l => l.Length + 1);
        Assert.All(parts, p => Assert.True(new FileInfo(p).Length < 4096 + longestLine, $"{p} is {new FileInfo(p).Length} bytes"));
        // Every line once, in order, across the parts.
        Assert.Equal(Enumerable.Range(0, 60).Select(i => $"req-{i}"), parts.SelectMany(File.ReadLines).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!["requestId"]!.GetValue<string>()));
        Assert.Single(File.ReadLines(Path.Combine(_dir.FullName, "requests-2026-11-21.jsonl")));
    }

    [Fact]
    public async Task Files_of_days_past_the_retention_are_deleted_and_newer_ones_kept()
    {
        foreach (var name in new[] { "requests-2026-11-10.jsonl", "requests-2026-11-10.1.jsonl", "requests-2026-11-17.jsonl", "requests-2026-11-18.jsonl", "notes.txt" })
        {
            await File.WriteAllTextAsync(Path.Combine(_dir.FullName, name), "{}\n");
        }

        var log = Log(o => o.RetentionDays = 2);
        await log.StartAsync(CancellationToken.None);
        log.Write(Line("today", Day));
        await log.StopAsync(CancellationToken.None);

        Assert.Equal(
            ["notes.txt", "requests-2026-11-18.jsonl", "requests-2026-11-20.jsonl"],
            Directory.GetFiles(_dir.FullName).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_write_that_fails_is_counted_and_logged_and_the_writer_goes_on()
    {
        var notADirectory = Path.Combine(_dir.FullName, "file");
        await File.WriteAllTextAsync(notADirectory, "");
        using var dropped = new MetricCollector<long>(_meters, GatewayMetrics.MeterName, "navigator.telemetry.dropped_lines");
        var log = Log(o => o.Directory = notADirectory);
        await log.StartAsync(CancellationToken.None);
        log.Write(Line("a", Day));
        await WaitForAsync(() => dropped.GetMeasurementSnapshot().Sum(m => m.Value) == 1);
        log.Write(Line("b", Day));
        await WaitForAsync(() => dropped.GetMeasurementSnapshot().Sum(m => m.Value) == 2);
        await log.StopAsync(CancellationToken.None);

        Assert.False(log.ExecuteTask!.IsFaulted);
        Assert.All(dropped.GetMeasurementSnapshot(), m => Assert.Equal("write_error", m.Tags["reason"]));
    }

    [Fact]
    public void A_full_queue_drops_the_line_and_counts_it()
    {
        using var dropped = new MetricCollector<long>(_meters, GatewayMetrics.MeterName, "navigator.telemetry.dropped_lines");
        var log = Log(o => o.QueueCapacity = 1); // not started: nothing drains the queue
        log.Write(Line("kept", Day));
        log.Write(Line("dropped", Day));

        var measurement = Assert.Single(dropped.GetMeasurementSnapshot());
        Assert.Equal(1, measurement.Value);
        Assert.Equal("queue_full", measurement.Tags["reason"]);
    }

    [Fact]
    public async Task With_otlp_on_each_line_is_also_a_log_record_of_its_own_category()
    {
        using var services = new ServiceCollection().AddLogging(b => b.AddFakeLogging()).BuildServiceProvider();
        var options = new TelemetryLogOptions { Directory = _dir.FullName, File = false, Otlp = true };
        var log = new TelemetryLog(Microsoft.Extensions.Options.Options.Create(options), _meters, services.GetRequiredService<ILoggerFactory>(), NullLogger<TelemetryLog>.Instance);
        await log.StartAsync(CancellationToken.None);
        log.Write(Line("otlp-1", Day));
        await log.StopAsync(CancellationToken.None);

        var record = Assert.Single(services.GetRequiredService<FakeLogCollector>().GetSnapshot());
        Assert.Equal("Navigator.RequestTelemetry", record.Category);
        Assert.Equal("otlp-1", System.Text.Json.Nodes.JsonNode.Parse(record.Message)!["requestId"]!.GetValue<string>());
        Assert.Empty(Directory.GetFiles(_dir.FullName)); // File = false
    }

    [Fact]
    public void A_user_id_becomes_a_keyed_pseudonym()
    {
        var a = new UserPseudonyms(Microsoft.Extensions.Options.Options.Create(new TelemetryLogOptions { UserIdKey = new string('k', 32) }));
        var b = new UserPseudonyms(Microsoft.Extensions.Options.Options.Create(new TelemetryLogOptions { UserIdKey = new string('x', 32) }));

        Assert.Equal(a.Of("u-123"), a.Of("u-123"));
        Assert.NotEqual(a.Of("u-123"), a.Of("u-124"));
        Assert.NotEqual(a.Of("u-123"), b.Of("u-123"));
        Assert.Matches("^[0-9a-f]{32}$", a.Of("u-123"));
        Assert.DoesNotContain("u-123", a.Of("u-123"), StringComparison.Ordinal);
        Assert.Null(a.Of(null));
    }

    [Theory]
    [InlineData("write to jane.doe+cv@example.co.uk please", "write to [email] please")]
    [InlineData("call +1 (555) 123-4567 or 555.123.4567", "call [phone] or [phone]")]
    [InlineData("or +44 20 7946 0958 after 6pm", "or [phone] after 6pm")]
    [InlineData("on 2026-11-29, $120k-180k, 3 paths, id 1234567", "on 2026-11-29, $120k-180k, 3 paths, id 1234567")]
    public void Emails_and_phone_numbers_are_redacted_and_other_text_kept(string text, string expected)
    {
        using var services = new ServiceCollection().AddNavigatorRedaction().BuildServiceProvider();
        Assert.Equal(expected, services.GetRequiredService<IRedactorProvider>().TextRedactor().Redact(text));
    }

    [Fact]
    public void A_feedback_comment_is_logged_with_emails_and_phone_numbers_redacted()
    {
        using var services = new ServiceCollection().AddNavigatorRedaction().AddLogging(b => b.AddFakeLogging()).BuildServiceProvider();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("feedback");

        FeedbackApi.LogComment(logger, services.GetRequiredService<IRedactorProvider>(), "req_1", "down", "wrong salary; reach me at jane@example.com or 555-123-4567");

        var record = Assert.Single(services.GetRequiredService<FakeLogCollector>().GetSnapshot());
        Assert.Equal("Feedback down on req_1: wrong salary; reach me at [email] or [phone]", record.Message);
    }

    [Theory]
    [InlineData(false, false, false, "all off")]
    [InlineData(true, false, false, "at least 4096")]
    public void A_set_up_that_writes_nowhere_or_keeps_nothing_is_refused(bool file, bool stdout, bool otlp, string expected)
    {
        var options = new TelemetryLogOptions { File = file, Stdout = stdout, Otlp = otlp, MaxFileBytes = file ? 100 : 4096 };
        var result = new TelemetryLogOptionsValidator(new Env(Environments.Development)).Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(TelemetryLogOptions.DevelopmentUserIdKey)]
    [InlineData("short")]
    public void Outside_development_the_user_id_key_must_be_a_real_secret(string? key)
    {
        var result = new TelemetryLogOptionsValidator(new Env(Environments.Production)).Validate(null, new TelemetryLogOptions { UserIdKey = key });
        Assert.True(result.Failed);
        Assert.Contains("NAVIGATOR_TELEMETRY_KEY", result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new TelemetryLogOptionsValidator(new Env(Environments.Production)).Validate(null, new TelemetryLogOptions { UserIdKey = new string('k', 32) }).Succeeded);
    }

    private TelemetryLog Log(Action<TelemetryLogOptions> configure)
    {
        var options = new TelemetryLogOptions { Directory = _dir.FullName };
        configure(options);
        return new TelemetryLog(Microsoft.Extensions.Options.Options.Create(options), _meters, NullLoggerFactory.Instance, NullLogger<TelemetryLog>.Instance);
    }

    private static RequestTelemetry Line(string requestId, DateTimeOffset at) =>
        new(at, requestId, "client", "0123456789abcdef0123456789abcdef", 200, RequestOutcome.Success, null, "1.2.3", "v2.1", "v1.5", null, null, "openai", "gpt-4o",
            false, false, false, false, false, 800, 360, 270, 0.0036m, 120, []);

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition());
    }

    private sealed class Env(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "test";
        public string ContentRootPath { get; set; } = "/";
        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = null!;
    }
}
