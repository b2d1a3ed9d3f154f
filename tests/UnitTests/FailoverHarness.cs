using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;
using Navigator.Grains.PromptConfig;
using Navigator.Grains.Providers;

namespace Navigator.UnitTests;

/// <summary>A <see cref="ProviderFailoverChatClient"/> over fake providers, with a circuit cache fed by hand and a fake health grain behind it.</summary>
internal sealed class FailoverHarness
{
    public FailoverHarness(IChatClient openai, IChatClient anthropic, ProvidersOptions? settings = null, IMeterFactory? meters = null)
    {
        Meters = meters ?? TestDoubles.Meters();
        Circuits = new CircuitStateCache(TestDoubles.GrainsOf<IClusterClient>(HealthGrain), TimeProvider.System, Meters, NullLogger<CircuitStateCache>.Instance);
        Governor = new OutputTokenGovernor(TestDoubles.Options(new TokenLimiterOptions()), Meters);
        Client = new ProviderFailoverChatClient(
            new Dictionary<string, IChatClient> { ["openai"] = openai, ["anthropic"] = anthropic },
            TestDoubles.Options(settings ?? new ProvidersOptions()),
            Governor,
            Circuits,
            new GatewayMetrics(Meters),
            TimeProvider.System);
    }

    public IMeterFactory Meters { get; }

    public FakeHealthGrain HealthGrain { get; } = new();

    public CircuitStateCache Circuits { get; }

    public OutputTokenGovernor Governor { get; }

    public ProviderFailoverChatClient Client { get; }

    public static ChatResponse Answer(string text = "ok") => new(new ChatMessage(ChatRole.Assistant, text));

    public static GatewayCallContext Context(TimeSpan? deadline = null, IReadOnlyList<string>? order = null, FeatureSettings? settings = null) => new()
    {
        RequestId = "req-1",
        Month = "2026-11",
        Deadline = DateTimeOffset.UtcNow + (deadline ?? TimeSpan.FromSeconds(3)),
        DeadlineDuration = deadline ?? TimeSpan.FromSeconds(3),
        InputTokens = 10,
        ProviderOrder = order ?? ["openai", "anthropic"],
        Settings = settings ?? new FeatureSettings(null, 3, 1000, 800, 500, new Dictionary<string, ProviderModelSettings>
        {
            ["openai"] = new("gpt-4o", 0.7f, 800),
            ["anthropic"] = new("claude", 0.3f, 600),
        }),
    };

    public Task<ChatResponse> SendAsync(GatewayCallContext context, CancellationToken cancellationToken = default) =>
        Client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], context.Attach(new ChatOptions()), cancellationToken);

    /// <summary>A circuit as the grain would push it: open until <paramref name="openUntil"/> (half-open once that has passed).</summary>
    public void Open(string provider, DateTimeOffset openUntil) =>
        Circuits.Apply(new CircuitSnapshot(provider, CircuitState.Open, CircuitMode.Auto, openUntil, 10, 10, 10, 1, 0, 1, ProviderCallKind.ServerError, null, "test", 1));

    /// <summary>Grants or refuses probe permits and counts the ones given back.</summary>
    public sealed class FakeHealthGrain : IProviderHealthGrain
    {
        public bool Grant { get; set; } = true;

        public int Acquired { get; private set; }

        public int Released { get; private set; }

        public Task<ProbePermit> TryAcquireProbeAsync()
        {
            Acquired++;
            var snapshot = new CircuitSnapshot("openai", CircuitState.HalfOpen, CircuitMode.Auto, null, 0, 0, 0, 0, Grant ? 1 : 2, 1, null, null, null, 2);
            return Task.FromResult(new ProbePermit(Grant, snapshot));
        }

        public Task ReleaseProbeAsync()
        {
            Released++;
            return Task.CompletedTask;
        }

        public Task RecordBatchAsync(IReadOnlyList<ProviderCallOutcome> outcomes) => throw new NotSupportedException();

        public Task<CircuitSnapshot> GetStatusAsync() => throw new NotSupportedException();

        public Task<CircuitSnapshot> SetModeAsync(CircuitMode mode, string actor) => throw new NotSupportedException();

        public Task SubscribeAsync(ICircuitObserver observer) => throw new NotSupportedException();

        public Task UnsubscribeAsync(ICircuitObserver observer) => throw new NotSupportedException();
    }

    /// <summary>A provider that answers (or throws) with what <c>answer</c> says, and remembers each call's options and token.</summary>
    public sealed class FakeProvider(Func<ChatOptions?, CancellationToken, Task<ChatResponse>> answer) : IChatClient
    {
        public FakeProvider(Func<ChatOptions?, ChatResponse> answer)
            : this((options, _) => Task.FromResult(answer(options)))
        {
        }

        public int Calls => Options.Count;

        public List<ChatOptions?> Options { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Options.Add(options);
            return answer(options, cancellationToken);
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
