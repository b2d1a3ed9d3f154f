using System.ClientModel;
using System.ClientModel.Primitives;
using Anthropic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using OpenAI;

namespace Navigator.Api.Providers;

/// <summary>
/// Builds the base <see cref="IChatClient"/> for each provider: the official SDK adapter when an
/// API key is configured, otherwise the simulated provider. SDK retries are off: the gateway's
/// failover owns retries, so the deadline holds.
/// </summary>
public static class ProviderClients
{
    public static IChatClient Create(string provider, IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptionsMonitor<ProvidersOptions>>();
        var settings = options.CurrentValue.Get(provider);
        if (string.IsNullOrEmpty(settings.ApiKey))
        {
            return new SimulatedChatClient(
                provider,
                () => options.CurrentValue.Get(provider).Simulated,
                services.GetRequiredService<TokenCounter>(),
                services.GetRequiredService<TimeProvider>());
        }

        return provider switch
        {
            ProviderNames.OpenAI => OpenAIAdapter(settings),
            ProviderNames.Anthropic => AnthropicAdapter(settings),
            _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown provider."),
        };
    }

    private static IChatClient OpenAIAdapter(ProviderSettings settings)
    {
        var clientOptions = new OpenAIClientOptions
        {
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromMilliseconds(settings.AttemptTimeoutMs),
        };
        if (!string.IsNullOrEmpty(settings.BaseUrl))
        {
            clientOptions.Endpoint = new Uri(settings.BaseUrl);
        }

        var client = new OpenAIClient(new ApiKeyCredential(settings.ApiKey!), clientOptions);
        return new ModelRoutingChatClient(model => client.GetChatClient(model).AsIChatClient());
    }

    private static IChatClient AnthropicAdapter(ProviderSettings settings)
    {
        var client = string.IsNullOrEmpty(settings.BaseUrl)
            ? new AnthropicClient { ApiKey = settings.ApiKey!, MaxRetries = 0, Timeout = TimeSpan.FromMilliseconds(settings.AttemptTimeoutMs) }
            : new AnthropicClient { ApiKey = settings.ApiKey!, MaxRetries = 0, Timeout = TimeSpan.FromMilliseconds(settings.AttemptTimeoutMs), BaseUrl = settings.BaseUrl };
        return new ModelRoutingChatClient(model => client.AsIChatClient(model));
    }
}
