using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Navigator.Hosting;

/// <summary>
/// The OpenTelemetry set-up the silo and the API share: the service name, the runtime's metrics, Prometheus exposition
/// with no scrape cache, Orleans' trace sources, and OTLP export of metrics, traces and logs when OTEL_EXPORTER_OTLP_ENDPOINT is set.
/// One file, compiled into both hosts (the API links it), so the two cannot drift.
/// </summary>
public static class TelemetryDefaults
{
    /// <summary>Orleans' activity sources: request → grain calls in one trace.</summary>
    public static readonly string[] OrleansTraceSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    public static IOpenTelemetryBuilder AddNavigatorTelemetry(
        this IServiceCollection services, IConfiguration config, string serviceName,
        Action<MeterProviderBuilder> metrics, Action<TracerProviderBuilder> tracing)
    {
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithMetrics(m =>
            {
                metrics(m);
                // The runtime's own meter (.NET 9+): GC heap sizes and collections, working set, thread pool, exceptions.
                m.AddMeter("System.Runtime");
                // No scrape cache: a scrape always shows what was served before it (Prometheus scrapes every
                // few seconds anyway, so the default 300 ms cache only ever hid the newest counts).
                m.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
            })
            .WithTracing(t => tracing(t.AddSource(OrleansTraceSources)));
        if (!string.IsNullOrEmpty(config["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // Logs too (the API's request lines among them, with Telemetry:Otlp); without an endpoint no log goes through OpenTelemetry.
            telemetry.WithLogging().UseOtlpExporter();
        }

        return telemetry;
    }
}
