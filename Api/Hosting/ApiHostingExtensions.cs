using Azure.Data.Tables;
using Microsoft.Extensions.AI;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Navigator.Api.Auth;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Api.Providers;
using Navigator.Api.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Orleans.Configuration;
using Navigator.Grains.Hosting;
using Navigator.Hosting;

namespace Navigator.Api.Hosting;

public static class ApiHostingExtensions
{
    public const string DevelopmentStorage = "UseDevelopmentStorage=true";

    /// <summary>Everything the API needs: config files, validated options, the Orleans client, auth, the pipeline and telemetry.</summary>
    public static WebApplicationBuilder AddNavigatorApi(this WebApplicationBuilder builder)
    {
        AddConfigurationFiles(builder);
        var services = builder.Services;
        var config = builder.Configuration;

        services.AddOptionsWithValidateOnStart<RequestOptions, RequestOptionsValidator>().BindConfiguration(RequestOptions.Section);
        services.AddOptionsWithValidateOnStart<BudgetOptions, BudgetOptionsValidator>().BindConfiguration(BudgetOptions.Section);
        services.AddOptionsWithValidateOnStart<UserQuotaOptions, UserQuotaOptionsValidator>().BindConfiguration(UserQuotaOptions.Section);
        services.AddOptionsWithValidateOnStart<TokenLimiterOptions, TokenLimiterOptionsValidator>().BindConfiguration(TokenLimiterOptions.Section);
        services.AddOptionsWithValidateOnStart<CacheOptions, CacheOptionsValidator>().BindConfiguration(CacheOptions.Section);
        services.AddOptionsWithValidateOnStart<ExperimentOptions, ExperimentOptionsValidator>().BindConfiguration(ExperimentOptions.Section);
        // The response cache's first level: HybridCache over a size-limited memory cache (cache:localMegabytes).
        services.AddMemoryCache(o => o.SizeLimit = (long)config.GetValue(CacheOptions.Section + ":localMegabytes", 64) * 1024 * 1024);
        services.AddHybridCache();
        services.AddSingleton<ResponseCache>();
        services.AddSingleton<ReservationMargins>();
        services.AddOptionsWithValidateOnStart<AuthOptions, AuthOptionsValidator>()
            .BindConfiguration(AuthOptions.Section)
            .PostConfigure<IConfiguration, IHostEnvironment>((o, cfg, env) =>
            {
                o.ClientKey = cfg["NAVIGATOR_CLIENT_KEY"] is { Length: > 0 } client ? client : o.ClientKey;
                o.AdminKey = cfg["NAVIGATOR_ADMIN_KEY"] is { Length: > 0 } admin ? admin : o.AdminKey;
                // ./run.sh stays zero-configuration: Development alone falls back to the well-known keys.
                if (env.IsDevelopment())
                {
                    o.ClientKey ??= o.ClientKeys.Count == 0 ? AuthOptions.DevelopmentClientKey : null;
                    o.AdminKey ??= o.AdminKeys.Count == 0 ? AuthOptions.DevelopmentAdminKey : null;
                }
            });
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<ProvidersOptions>, ProviderPricesValidator>();
        services.AddOptionsWithValidateOnStart<ProvidersOptions, ProvidersOptionsValidator>()
            .BindConfiguration(ProvidersOptions.Section)
            .PostConfigure<IConfiguration>((o, cfg) =>
            {
                o.OpenAI.ApiKey = cfg["OPENAI_API_KEY"] is { Length: > 0 } openAiKey ? openAiKey : o.OpenAI.ApiKey;
                o.OpenAI.BaseUrl = cfg["OPENAI_BASE_URL"] is { Length: > 0 } openAiUrl ? openAiUrl : o.OpenAI.BaseUrl;
                o.Anthropic.ApiKey = cfg["ANTHROPIC_API_KEY"] is { Length: > 0 } anthropicKey ? anthropicKey : o.Anthropic.ApiKey;
                o.Anthropic.BaseUrl = cfg["ANTHROPIC_BASE_URL"] is { Length: > 0 } anthropicUrl ? anthropicUrl : o.Anthropic.BaseUrl;
            });
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<TelemetryLogOptions>, TelemetryLogOptionsValidator>();
        services.AddOptionsWithValidateOnStart<TelemetryLogOptions>()
            .BindConfiguration(TelemetryLogOptions.Section)
            .PostConfigure<IConfiguration, IHostEnvironment>((o, cfg, env) =>
            {
                o.Directory = cfg["Telemetry:Directory"] ?? Path.Combine(DataDirectory(cfg), "telemetry");
                o.UserIdKey = cfg["NAVIGATOR_TELEMETRY_KEY"] is { Length: > 0 } key ? key : o.UserIdKey;
                if (env.IsDevelopment())
                {
                    o.UserIdKey ??= TelemetryLogOptions.DevelopmentUserIdKey;
                }
            });
        services.AddSingleton<UserPseudonyms>();
        services.AddNavigatorRedaction();

        builder.UseOrleansClient(client =>
        {
            client.Services.AddOptions<ClusterOptions>().Configure<IConfiguration>((o, cfg) =>
            {
                o.ClusterId = cfg["Orleans:ClusterId"] ?? "navigator-dev";
                o.ServiceId = cfg["Orleans:ServiceId"] ?? "navigator";
            });
            client.UseAzureStorageClustering(ob => ob.Configure<IConfiguration>((o, cfg) =>
                o.TableServiceClient = new TableServiceClient(cfg.GetConnectionString("AzureStorage") ?? DevelopmentStorage)));
            client.UseNavigatorClientDefaults();
            client.UseConnectionRetryFilter(async (_, ct) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                return true;
            });
        });

        services.AddProblemDetails();
        // Bodies the admin and feedback endpoints bind: a key given twice is a 400, never "the last one wins".
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.AllowDuplicateProperties = false);
        services.AddExceptionHandler<ClusterUnavailableHandler>();
        services.AddExceptionHandler<BadRequestHandler>();
        // Binding failures throw (BadRequestHandler makes them a 400 problem) in every environment, not only Development.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        // Kestrel listens (and /health/live answers) while the Orleans client is still connecting: the
        // client retries for as long as the silos are away, and the pod is live but not ready meanwhile.
        services.Configure<HostOptions>(o => o.ServicesStartConcurrently = true);
        services.AddNavigatorAuth();
        services.AddClientRateLimiting();
        services.AddNavigatorOpenApi();
        services.AddHealthChecks()
            .AddCheck<ClusterHealthCheck>("orleans-cluster", tags: ["ready"])
            .AddCheck<PricesHealthCheck>("model-prices", tags: ["ready"]);

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<TokenCounter>();
        services.AddSingleton<PromptRenderer>();
        services.AddSingleton<InputLimiter>();
        services.AddSingleton<OutputTokenGovernor>();
        services.AddSingleton<BudgetMonitor>();
        services.AddSingleton<BudgetLeases>();
        services.AddHostedService(sp => sp.GetRequiredService<BudgetLeases>());
        services.AddSingleton<ExperimentCache>();
        services.AddHostedService(sp => sp.GetRequiredService<ExperimentCache>());
        services.AddSingleton<Navigator.Api.Experiments.RequestIds>();
        services.AddSingleton<ExperimentReporter>();
        services.AddSingleton<Navigator.Api.Experiments.AnswerJudge>();
        services.AddHostedService(sp => sp.GetRequiredService<Navigator.Api.Experiments.AnswerJudge>());
        services.AddHostedService(sp => sp.GetRequiredService<ExperimentReporter>());
        services.AddSingleton<UserQuotas>();
        services.AddHostedService(sp => sp.GetRequiredService<UserQuotas>());
        services.AddSingleton<ProviderOutcomeReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<ProviderOutcomeReporter>());
        services.AddSingleton<CareerPathPipeline>();
        services.AddSingleton<FeatureConfigCache>();
        services.AddHostedService(sp => sp.GetRequiredService<FeatureConfigCache>());
        services.AddSingleton<CircuitStateCache>();
        services.AddSingleton<RecentLatencies>();
        services.AddHostedService(sp => sp.GetRequiredService<CircuitStateCache>());
        services.AddSingleton<IChatClient>(sp => new ProviderFailoverChatClient(
            ProviderNames.All.ToDictionary(
                p => p,
                p => ChatClientBuilderExtensions.BuildProviderPipeline(ProviderClients.Create(p, sp), sp)),
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<ProvidersOptions>>(),
            sp.GetRequiredService<OutputTokenGovernor>(),
            sp.GetRequiredService<CircuitStateCache>(),
            sp.GetRequiredService<RecentLatencies>(),
            sp.GetRequiredService<GatewayMetrics>(),
            sp.GetRequiredService<TimeProvider>()));

        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<TelemetryLog>();
        services.AddHostedService(sp => sp.GetRequiredService<TelemetryLog>());
        services.AddSingleton<StatsReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<StatsReporter>());
        // Traces (request → grains → provider) and metrics; also to an OTLP collector when one is configured.
        services.AddNavigatorTelemetry(config, "navigator-api",
            m => m.AddMeter(GatewayMetrics.MeterName, ChatClientBuilderExtensions.GenAiTelemetrySource).AddAspNetCoreInstrumentation(),
            t => t.AddSource(ChatClientBuilderExtensions.GenAiTelemetrySource).AddAspNetCoreInstrumentation());

        return builder;
    }

    public static WebApplication UseNavigatorApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.UseJsonBodyGuard();
        app.MapOpenApi();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    /// <summary>NAVIGATOR_DATA_DIR, or a git-ignored .data folder in the working directory.</summary>
    public static string DataDirectory(IConfiguration config) =>
        config["NAVIGATOR_DATA_DIR"] is { Length: > 0 } dir ? dir : Path.Combine(Directory.GetCurrentDirectory(), ".data");

    /// <summary>
    /// config/provider_settings.json and config/rate_limits.json ship with the binaries. They are
    /// inserted first, so appsettings, environment variables and the command line all override them.
    /// </summary>
    private static void AddConfigurationFiles(WebApplicationBuilder builder)
    {
        var sources = builder.Configuration.Sources;
        var files = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "config"));
        string[] names = ["provider_settings.json", "rate_limits.json"];
        for (var i = 0; i < names.Length; i++)
        {
            var source = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource { Path = names[i], Optional = false, FileProvider = files };
            source.ResolveFileProvider();
            sources.Insert(i, source);
        }

    }
}
