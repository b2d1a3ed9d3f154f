using System.ClientModel;
using System.Net;
using Anthropic.Exceptions;
using Navigator.Grains.Providers;

namespace Navigator.Api.Pipeline;

/// <summary>Maps what a provider call threw to the outcome the circuit breaker counts.</summary>
public static class ProviderErrorClassifier
{
    public static ProviderCallKind Classify(Exception exception) => exception switch
    {
        MalformedResponseException or FormatException or System.Text.Json.JsonException => ProviderCallKind.MalformedResponse,
        OperationCanceledException or TimeoutException => ProviderCallKind.Timeout,
        ClientResultException { Status: > 0 } e => FromStatus(e.Status),
        ClientResultException => ProviderCallKind.ServerError, // no response at all: the connection failed
        AnthropicApiException e => FromStatus((int)e.StatusCode),
        HttpRequestException { StatusCode: { } status } => FromStatus((int)status),
        HttpRequestException or IOException => ProviderCallKind.ServerError,
        AnthropicInvalidDataException => ProviderCallKind.MalformedResponse,
        // Anything else is not known to be the provider's fault (a bug in an adapter, say): it fails over, but
        // never counts against the provider's circuit.
        _ => ProviderCallKind.Unknown,
    };

    /// <summary>
    /// The Retry-After a 429 carried, when the SDK exposes it: the OpenAI SDK keeps the raw
    /// response; the Anthropic SDK's exceptions carry no headers, so its 429s fall back to the
    /// breaker's own open period.
    /// </summary>
    public static TimeSpan? RetryAfter(Exception exception)
    {
        if (exception is ClientResultException { Status: 429 } e
            && e.GetRawResponse()?.Headers.TryGetValue("Retry-After", out var value) == true)
        {
            if (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }

            if (DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at))
            {
                var wait = at - DateTimeOffset.UtcNow;
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }

        return null;
    }

    public static ProviderCallKind FromStatus(int status) => status switch
    {
        (int)HttpStatusCode.Unauthorized or (int)HttpStatusCode.Forbidden => ProviderCallKind.AuthFailure,
        (int)HttpStatusCode.TooManyRequests => ProviderCallKind.RateLimited,
        (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.GatewayTimeout => ProviderCallKind.Timeout,
        >= 500 => ProviderCallKind.ServerError,
        >= 400 => ProviderCallKind.ClientError,
        _ => ProviderCallKind.ServerError,
    };
}
