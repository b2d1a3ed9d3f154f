using Microsoft.Extensions.AI;
using Navigator.Api.Pipeline;

namespace Navigator.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class PipelineOrderTests(ApiFixture fixture)
{
    [Fact]
    public void Each_provider_chain_runs_soft_limit_then_budget_then_health_then_validation_then_telemetry()
    {
        // The order carries the guarantees: the model is chosen before its price is reserved, a
        // budget refusal never counts against the provider's health, and a malformed answer does.
        _ = fixture.Client(); // starts the replica
        using var provider = new EchoClient();
        var pipeline = ChatClientBuilderExtensions.BuildProviderPipeline(provider, fixture.Replicas[0].Services);
        Type[] order = [typeof(SoftLimitChatClient), typeof(BudgetChatClient), typeof(HealthReportingChatClient),
            typeof(ResponseValidationChatClient), typeof(OpenTelemetryChatClient), typeof(EchoClient)];

        // GetService, the chain's public way in, answers from the first layer of a type, looking inward only:
        // a layer finds every type below it and none above it.
        var layers = order.Select(t => pipeline.GetService(t) as IChatClient).ToArray();
        Assert.All(layers, Assert.NotNull);
        Assert.Same(layers[0], pipeline);
        for (var outer = 0; outer < order.Length; outer++)
        {
            for (var inner = outer + 1; inner < order.Length; inner++)
            {
                Assert.Same(layers[inner], layers[outer]!.GetService(order[inner]));
                Assert.Null(layers[inner]!.GetService(order[outer]));
            }
        }
    }

    private sealed class EchoClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "{}")));

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }
    }
}
