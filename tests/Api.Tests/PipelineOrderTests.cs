using System.Reflection;
using Microsoft.Extensions.AI;
using Navigator.Api.Pipeline;

namespace Navigator.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class PipelineOrderTests(ApiFixture fixture)
{
    private static readonly PropertyInfo InnerClient =
        typeof(DelegatingChatClient).GetProperty("InnerClient", BindingFlags.Instance | BindingFlags.NonPublic)!;

    [Fact]
    public void Each_provider_chain_runs_soft_limit_then_budget_then_health_then_validation_then_telemetry()
    {
        // The order carries the guarantees: the model is chosen before its price is reserved, a
        // budget refusal never counts against the provider's health, and a malformed answer does.
        _ = fixture.Client(); // starts the replica
        using var provider = new EchoClient();
        var pipeline = ChatClientBuilderExtensions.BuildProviderPipeline(provider, fixture.Replicas[0].Services);

        var chain = new List<Type>();
        object? client = pipeline;
        while (client is DelegatingChatClient layer)
        {
            chain.Add(layer.GetType());
            client = InnerClient.GetValue(layer);
        }

        chain.Add(client!.GetType());
        Assert.Equal(
            [typeof(SoftLimitChatClient), typeof(BudgetChatClient), typeof(HealthReportingChatClient), typeof(ResponseValidationChatClient),
             typeof(OpenTelemetryChatClient), typeof(EchoClient)],
            chain);
    }

    private sealed class EchoClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "{}")));

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
