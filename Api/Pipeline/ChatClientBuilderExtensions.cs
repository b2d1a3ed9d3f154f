using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;

namespace Navigator.Api.Pipeline;

/// <summary>The gateway's layers as Microsoft.Extensions.AI builder steps. The first Use is the outermost layer.</summary>
public static class ChatClientBuilderExtensions
{
    public static ChatClientBuilder UseBudget(this ChatClientBuilder builder) =>
        builder.Use((inner, services) => new BudgetChatClient(
            inner,
            services.GetRequiredService<BudgetLeases>(),
            services.GetRequiredService<IOptionsMonitor<ProvidersOptions>>(),
            services.GetRequiredService<ReservationMargins>()));

    public static ChatClientBuilder UseSoftLimit(this ChatClientBuilder builder) =>
        builder.Use((inner, services) => new SoftLimitChatClient(
            inner,
            services.GetRequiredService<BudgetMonitor>(),
            services.GetRequiredService<IOptionsMonitor<BudgetOptions>>(),
            services.GetRequiredService<IOptionsMonitor<ProvidersOptions>>()));

    public static ChatClientBuilder UseHealthReporting(this ChatClientBuilder builder) =>
        builder.Use((inner, services) => new HealthReportingChatClient(
            inner,
            services.GetRequiredService<ProviderOutcomeReporter>(),
            services.GetRequiredService<TimeProvider>()));

    public static ChatClientBuilder UseResponseValidation(this ChatClientBuilder builder) =>
        builder.Use(inner => new ResponseValidationChatClient(inner));

    /// <summary>The ActivitySource and Meter of Microsoft.Extensions.AI's OpenTelemetry layer (gen_ai spans and metrics).</summary>
    public const string GenAiTelemetrySource = "Navigator.GenAI";

    /// <summary>One provider's chain: soft limit → budget → health reporting → response validation → OpenTelemetry → provider.</summary>
    public static IChatClient BuildProviderPipeline(IChatClient provider, IServiceProvider services) =>
        new ChatClientBuilder(provider)
            .UseSoftLimit()
            .UseBudget()
            .UseHealthReporting()
            .UseResponseValidation()
            .UseOpenTelemetry(sourceName: GenAiTelemetrySource)
            .Build(services);
}
