using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;
using Navigator.Grains.PromptConfig;

BenchmarkSwitcher.FromAssembly(typeof(FailoverBenchmarks).Assembly).Run(args);

/// <summary>
/// What the failover layer (Polly's hedging strategy around each request's attempts) costs per request, against calling
/// the same instant provider directly: hedging off (no delay timer) and on (a timer per request for the hedging delay;
/// the provider answers before it fires). Run by tools/bench/micro-bench.sh.
/// </summary>
[MemoryDiagnoser]
public class FailoverBenchmarks
{
    private static readonly ChatMessage[] Messages = [new(ChatRole.User, "hi")];
    private static readonly FeatureSettings Settings = new(null, 3, 1000, 1000, 500, new Dictionary<string, ProviderModelSettings>
    {
        [ProviderNames.OpenAI] = new("gpt-4o", 0.7f, 800),
        [ProviderNames.Anthropic] = new("claude", 0.3f, 800),
    });

    private readonly IChatClient _provider = new InstantProvider();
    private ProviderFailoverChatClient _hedgingOff = null!;
    private ProviderFailoverChatClient _hedgingOn = null!;

    [GlobalSetup]
    public void Setup()
    {
        _hedgingOff = Failover(enabled: false);
        _hedgingOn = Failover(enabled: true);
    }

    [Benchmark(Baseline = true, Description = "provider called directly")]
    public Task<ChatResponse> Direct() => _provider.GetResponseAsync(Messages, new ChatOptions { ModelId = "gpt-4o", MaxOutputTokens = 800 });

    [Benchmark(Description = "failover layer, hedging off")]
    public Task<ChatResponse> HedgingOff() => Ask(_hedgingOff);

    [Benchmark(Description = "failover layer, hedging on")]
    public Task<ChatResponse> HedgingOn() => Ask(_hedgingOn);

    private static Task<ChatResponse> Ask(ProviderFailoverChatClient client)
    {
        var now = TimeProvider.System.GetUtcNow();
        var context = new GatewayCallContext
        {
            RequestId = "bench",
            Month = "2026-11",
            Deadline = now.AddSeconds(3),
            DeadlineDuration = TimeSpan.FromSeconds(3),
            InputTokens = 10,
            ProviderOrder = [ProviderNames.OpenAI, ProviderNames.Anthropic],
            Settings = Settings,
        };
        return client.GetResponseAsync(Messages, context.Attach(new ChatOptions()));
    }

    private ProviderFailoverChatClient Failover(bool enabled)
    {
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        var providers = new ProvidersOptions();
        providers.Hedging.Enabled = enabled;
        return new ProviderFailoverChatClient(
            new Dictionary<string, IChatClient> { [ProviderNames.OpenAI] = _provider, [ProviderNames.Anthropic] = _provider },
            new Fixed<ProvidersOptions>(providers),
            new OutputTokenGovernor(new Fixed<TokenLimiterOptions>(new TokenLimiterOptions()), meters),
            // No circuit is known, so every provider is called and the cluster is never asked.
            new CircuitStateCache(null!, TimeProvider.System, meters, NullLogger<CircuitStateCache>.Instance),
            new RecentLatencies(),
            new GatewayMetrics(meters),
            TimeProvider.System);
    }

    private sealed class InstantProvider : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok")));

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private sealed class Fixed<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
