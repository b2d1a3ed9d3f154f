using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;
using Navigator.Grains.PromptConfig;

namespace Navigator.UnitTests;

/// <summary>A provider that answers each call with a function of its options (and token), and keeps the options of every call.</summary>
internal sealed class FakeProvider : IChatClient
{
    private readonly Func<ChatOptions?, CancellationToken, Task<ChatResponse>> _answer;
    private readonly ConcurrentQueue<ChatOptions?> _calls = new();

    public FakeProvider(Func<ChatOptions?, ChatResponse> answer)
        : this((options, _) => Task.FromResult(answer(options)))
    {
    }

    public FakeProvider(Func<ChatOptions?, CancellationToken, Task<ChatResponse>> answer) => _answer = answer;

    public int Calls => _calls.Count;

    /// <summary>The options of each call, in order.</summary>
    public IReadOnlyList<ChatOptions?> Options => [.. _calls];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        _calls.Enqueue(options);
        return _answer(options, cancellationToken);
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

/// <summary>A <see cref="ProviderFailoverChatClient"/> over fake providers, and the request context it reads.</summary>
internal static class Failovers
{
    /// <summary>The feature's models: OpenAI's output cap is below the feature's (1,000), Anthropic's above it.</summary>
    public static readonly IReadOnlyDictionary<string, ProviderModelSettings> Models = new Dictionary<string, ProviderModelSettings>
    {
        [ProviderNames.OpenAI] = new("gpt-4o", 0.7f, 800),
        [ProviderNames.Anthropic] = new("claude", 0.3f, 1200),
    };

    public static ChatResponse Answer(string text = "ok") => new(new ChatMessage(ChatRole.Assistant, text));

    public static GatewayCallContext Context(
        DateTimeOffset now, TimeSpan? deadline = null, IReadOnlyList<string>? order = null, IReadOnlyDictionary<string, ProviderModelSettings>? models = null)
    {
        var duration = deadline ?? TimeSpan.FromSeconds(3);
        return new GatewayCallContext
        {
            RequestId = "req-1",
            Month = "2026-11",
            Deadline = now + duration,
            DeadlineDuration = duration,
            InputTokens = 10,
            ProviderOrder = order ?? [ProviderNames.OpenAI, ProviderNames.Anthropic],
            Settings = new FeatureSettings(null, 3, 1000, 1000, 500, models ?? Models),
        };
    }

    public static CircuitStateCache Circuits(IClusterClient client, TimeProvider time, IMeterFactory meters) =>
        new(client, time, meters, NullLogger<CircuitStateCache>.Instance);

    public static ProviderFailoverChatClient Build(
        IReadOnlyDictionary<string, IChatClient> providers,
        TimeProvider? time = null,
        CircuitStateCache? circuits = null,
        ProvidersOptions? settings = null,
        IMeterFactory? meters = null,
        RecentLatencies? latencies = null)
    {
        time ??= TimeProvider.System;
        meters ??= TestDoubles.Meters();
        return new ProviderFailoverChatClient(
            providers,
            TestDoubles.Options(settings ?? new ProvidersOptions()),
            new OutputTokenGovernor(TestDoubles.Options(new TokenLimiterOptions()), meters),
            circuits ?? Circuits(TestDoubles.Grains(), time, meters),
            latencies ?? new RecentLatencies(),
            new GatewayMetrics(meters),
            time);
    }
}
