using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Navigator.UnitTests;

/// <summary>Small stand-ins for the host's services, for unit tests only.</summary>
internal static class TestDoubles
{
    public static IMeterFactory Meters() => new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    public static IOptionsMonitor<T> Options<T>(T value) => new StaticOptions<T>(value);

    private sealed class StaticOptions<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
