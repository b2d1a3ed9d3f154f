using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace Navigator.Api.Providers;

/// <summary>
/// The SDK adapters bind a chat client to one model; this keeps one adapter per model and routes
/// each call by <see cref="ChatOptions.ModelId"/>, so a feature version (or a downgrade) can pick its model per request.
/// </summary>
public sealed class ModelRoutingChatClient(Func<string, IChatClient> create) : IChatClient
{
    private readonly ConcurrentDictionary<string, IChatClient> _clients = new(StringComparer.Ordinal);

    public Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        For(options).GetResponseAsync(messages, options, cancellationToken);

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        For(options).GetStreamingResponseAsync(messages, options, cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
    }

    private IChatClient For(ChatOptions? options)
    {
        var model = options?.ModelId ?? throw new InvalidOperationException("The call names no model.");
        return _clients.GetOrAdd(model, create);
    }
}
