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

    /// <summary>
    /// A cluster client whose <c>GetGrain</c> returns, whatever the key, the first of <paramref name="grains"/>
    /// that implements the grain interface asked for: the code under test talks to in-memory grains.
    /// </summary>
    public static IClusterClient Grains(params object[] grains)
    {
        var client = DispatchProxy.Create<IClusterClient, GrainClient>();
        ((GrainClient)(object)client).Grains = grains;
        return client;
    }

    /// <summary>
    /// A grain that never answers: each call returns a task that never completes, as a call to a hung silo does until
    /// Orleans' own response timeout (5 s, longer than a request's deadline). Its calls are counted.
    /// </summary>
    public static T Hung<T>()
        where T : class => DispatchProxy.Create<T, HungGrain>();

    public static int CallsTo(object hung) => ((HungGrain)hung).Calls;

    /// <summary>A grain whose calls answer at once with the value given for the method's name (a completed task).</summary>
    public static T Answering<T>(IReadOnlyDictionary<string, object?> answers)
        where T : class
    {
        var grain = DispatchProxy.Create<T, AnsweringGrain>();
        ((AnsweringGrain)(object)grain).Answers = answers;
        return grain;
    }

    public class AnsweringGrain : DispatchProxy
    {
        public IReadOnlyDictionary<string, object?> Answers { get; set; } = new Dictionary<string, object?>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            var type = targetMethod!.ReturnType;
            if (!Answers.TryGetValue(targetMethod.Name, out var answer))
            {
                throw new NotSupportedException(targetMethod.Name);
            }

            return type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Task<>)
                ? typeof(Task).GetMethod(nameof(Task.FromResult))!.MakeGenericMethod(type.GetGenericArguments()).Invoke(null, [answer])
                : Task.CompletedTask;
        }
    }

    public class HungGrain : DispatchProxy
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            Interlocked.Increment(ref _calls);
            var type = targetMethod!.ReturnType;
            if (type == typeof(Task))
            {
                return new TaskCompletionSource().Task;
            }

            return type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Task<>)
                ? typeof(TaskCompletionSource<>).MakeGenericType(type.GetGenericArguments()).GetProperty("Task")!
                    .GetValue(Activator.CreateInstance(typeof(TaskCompletionSource<>).MakeGenericType(type.GetGenericArguments())))
                : throw new NotSupportedException(targetMethod.Name);
        }
    }

    private sealed class StaticOptions<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }

    public class GrainClient : DispatchProxy
    {
        public IReadOnlyList<object> Grains { get; set; } = [];

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.Name == nameof(IGrainFactory.GetGrain) && Grains.FirstOrDefault(targetMethod.ReturnType.IsInstanceOfType) is { } grain
                ? grain
                : throw new NotSupportedException(targetMethod?.Name);
    }
}
