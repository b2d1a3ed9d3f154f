using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Navigator.Grains.Seed;

namespace Navigator.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>Services the grains need: the seed source and a clock.</summary>
    public static IServiceCollection AddNavigatorGrains(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SeedOptions>().Bind(configuration.GetSection("Seed"));
        services.TryAddSingleton<ISeedSource, FileSeedSource>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddKeyedSingleton<TimeProvider>(LedgerClock.Key, (sp, _) => sp.GetRequiredService<TimeProvider>());
        services.TryAddSingleton<PromptConfig.FeatureConfigValidator>();
        services.AddMetrics();
        services.TryAddSingleton<Budget.BudgetMetrics>();
        services.TryAddSingleton<Providers.ProviderHealthMetrics>();
        services.TryAddSingleton<Caching.ResponseCacheMetrics>();
        services.AddOptions<Caching.ResponseCacheOptions>().Bind(configuration.GetSection(Caching.ResponseCacheOptions.Section));
        services.AddOptions<Providers.CircuitBreakerOptions>().Bind(configuration.GetSection(Providers.CircuitBreakerOptions.Section));
        services.AddOptions<Budget.BudgetLeaseOptions>().Bind(configuration.GetSection(Budget.BudgetLeaseOptions.Section));
        return services;
    }
}
