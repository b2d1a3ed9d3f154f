using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Navigator.Grains;
using Navigator.Grains.Hosting;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Storage;
using Navigator.Hosting;

namespace Navigator.Silo.Hosting;

public static class SiloHostingExtensions
{
    /// <summary>Azurite's well-known development connection string.</summary>
    public const string DevelopmentStorage = "UseDevelopmentStorage=true";

    /// <summary>
    /// Configures the Orleans silo: Azure Table clustering, Azure Storage persistence, loopback
    /// endpoints (or pod endpoints on Kubernetes), fast failure detection, mutual TLS when configured, and the dashboard (Development, or
    /// explicitly enabled behind the admin key).
    /// </summary>
    public static IHostApplicationBuilder AddNavigatorSilo(this IHostApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var storage = config.GetConnectionString("AzureStorage") ?? DevelopmentStorage;
        var orleans = config.GetSection("Orleans");
        var onKubernetes = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"));

        // The breaker's settings live beside the provider settings, the lease TTL beside the budget;
        // configuration overrides both.
        foreach (var file in new[] { "provider_settings.json", "rate_limits.json" })
        {
            var path = Path.Combine(AppContext.BaseDirectory, "seed", "config", file);
            if (File.Exists(path))
            {
                var source = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource { Path = path, Optional = true };
                source.ResolveFileProvider();
                builder.Configuration.Sources.Insert(0, source);
            }
        }

        builder.Services.AddNavigatorGrains(config);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = orleans["ClusterId"] ?? "navigator-dev";
                o.ServiceId = orleans["ServiceId"] ?? "navigator";
            });

            if (onKubernetes)
            {
                silo.UseKubernetesHosting();
            }
            else
            {
                var siloPort = orleans.GetValue("SiloPort", 11111);
                var gatewayPort = orleans.GetValue("GatewayPort", 30000);
                silo.Configure<EndpointOptions>(o =>
                {
                    o.AdvertisedIPAddress = IPAddress.Loopback;
                    o.SiloPort = siloPort;
                    o.GatewayPort = gatewayPort;
                    o.SiloListeningEndpoint = new IPEndPoint(IPAddress.Loopback, siloPort);
                    o.GatewayListeningEndpoint = new IPEndPoint(IPAddress.Loopback, gatewayPort);
                });
            }

            silo.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(storage));
            silo.AddNavigatorStorage(storage, orleans["ServiceId"] ?? "navigator");

            // Notice a dead silo in seconds without evicting a live one that pauses: probes every 3 s, death after two
            // missed probes and two votes (Orleans asks for fewer when fewer silos are left to vote), and indirect
            // probes through a third silo before a vote, so a GC pause or one bad link does not evict a healthy
            // silo. A silo starting after a crash ignores members whose I-am-alive row is older than two 2 s periods.
            // Measured: SiloLossTests (detection and grain recovery after kill -9), numbers in tests/README.md.
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(3);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 2;
                o.EnableIndirectProbes = true;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
                o.NumMissedTableIAmAliveLimit = 2;
                o.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(30);
            });
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5));

            silo.AddActivityPropagation();
            silo.UseNavigatorTls();
            if (DashboardAccess.IsEnabled(config, builder.Environment))
            {
                silo.AddDashboard();
            }
        });

        builder.Services.AddHealthChecks();
        builder.Services.AddNavigatorTelemetry(config, "navigator-silo",
            m => m.AddMeter("Microsoft.Orleans", Navigator.Grains.Budget.BudgetMetrics.MeterName, Navigator.Grains.Providers.ProviderHealthMetrics.MeterName,
                Navigator.Grains.Caching.ResponseCacheMetrics.MeterName),
            _ => { });

        return builder;
    }

    /// <summary>
    /// Grain storage: "config" (prompt configs, experiments) in Azure Tables and "ledger" (budgets)
    /// in Azure Blobs, which has no entity-size limit. Table rows are keyed by service id already;
    /// blob names are not, so the container name carries it.
    /// </summary>
    public static ISiloBuilder AddNavigatorStorage(this ISiloBuilder silo, string connectionString, string serviceId)
    {
        // Grain state is written with Orleans' own serializer, which follows the [Id]/[Alias]
        // contract of every state type, so renaming or moving a type never orphans stored state
        // (the default JSON serializer stores assembly-qualified type names).
        silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
        silo.AddAzureTableGrainStorage("config", o => o.TableServiceClient = new TableServiceClient(connectionString));
        silo.AddAzureBlobGrainStorage("ledger", o =>
        {
            o.BlobServiceClient = new BlobServiceClient(connectionString);
            o.ContainerName = $"{serviceId.ToLowerInvariant()}-ledger";
        });
        silo.UseAzureTableReminderService(o => o.TableServiceClient = new TableServiceClient(connectionString));
        return silo;
    }

    public static WebApplication MapNavigatorSilo(this WebApplication app)
    {
        app.MapHealthChecks("/health/live");
        app.MapPrometheusScrapingEndpoint("/metrics");
        if (DashboardAccess.IsEnabled(app.Configuration, app.Environment))
        {
            if (DashboardAccess.RequiredKey(app.Configuration, app.Environment) is { } key)
            {
                app.UseDashboardKey(key);
            }

            app.MapOrleansDashboard(DashboardAccess.Path);
        }

        return app;
    }
}
