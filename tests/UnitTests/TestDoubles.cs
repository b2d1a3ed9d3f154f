using System.Diagnostics.Metrics;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Navigator.UnitTests;

/// <summary>Small stand-ins for the host's services, for unit tests only.</summary>
internal static class TestDoubles
{
    public static IMeterFactory Meters() => new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    public static IOptionsMonitor<T> Options<T>(T value) => new StaticOptions<T>(value);

    /// <summary>An <see cref="IGrainFactory"/> (or <see cref="IClusterClient"/>) whose every grain is <paramref name="grain"/>.</summary>
    public static T GrainsOf<T>(object grain)
        where T : class, IGrainFactory
    {
        var factory = DispatchProxy.Create<T, SingleGrain>();
        ((SingleGrain)(object)factory).Grain = grain;
        return factory;
    }

    private sealed class StaticOptions<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}

/// <summary>The proxy behind <see cref="TestDoubles.GrainsOf{T}"/>: public and unsealed, as <see cref="DispatchProxy"/> requires.</summary>
public class SingleGrain : DispatchProxy
{
    public object? Grain { get; set; }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
        targetMethod?.Name == nameof(IGrainFactory.GetGrain) ? Grain : throw new NotSupportedException(targetMethod?.Name);
}
