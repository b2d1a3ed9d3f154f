using System.Net;
using Microsoft.Extensions.AI;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;

namespace Navigator.Api.Providers;

/// <summary>
/// An in-process stand-in for a provider, used when no API key is set. Its latency and failure
/// rate come from configuration; it reports token usage counted with the real tokenizer.
/// </summary>
public sealed class SimulatedChatClient(
    string provider,
    Func<SimulatedProviderSettings> settings,
    TokenCounter tokens,
    TimeProvider time) : IChatClient
{
    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var current = settings();
        var latency = current.LatencyMs + (current.LatencyJitterMs > 0 ? Random.Shared.Next(current.LatencyJitterMs) : 0);
        await Task.Delay(TimeSpan.FromMilliseconds(latency), time, cancellationToken);
        if (current.FailureRate > 0 && Random.Shared.NextDouble() < current.FailureRate)
        {
            throw new HttpRequestException($"Simulated {provider} outage.", null, HttpStatusCode.ServiceUnavailable);
        }

        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        var user = list.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var text = CareerPathSimulator.Answer(user);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            ModelId = options?.ModelId,
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails
            {
                InputTokenCount = list.Sum(m => tokens.Count(m.Text)),
                OutputTokenCount = tokens.Count(text),
            },
        };
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The simulated provider does not stream.");

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
