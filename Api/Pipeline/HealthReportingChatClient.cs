using System.Diagnostics;
using Microsoft.Extensions.AI;
using Navigator.Grains.Providers;

namespace Navigator.Api.Pipeline;

/// <summary>
/// The boundary of the provider call: everything below this layer is the provider (its SDK, its
/// answer's validation). Each attempt's outcome goes to the provider's cluster-wide breaker through
/// <see cref="ProviderOutcomeReporter"/>, without waiting, and any failure from below is wrapped in a
/// <see cref="ProviderCallException"/> so outer layers can tell a provider's failure from their own. An attempt
/// cancelled because a hedged one answered first is not reported.
/// </summary>
public sealed class HealthReportingChatClient(IChatClient inner, ProviderOutcomeReporter reporter, TimeProvider time) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (provider, _) = GatewayCallContext.AttemptOf(options);
        var started = Stopwatch.GetTimestamp();
        var kind = ProviderCallKind.Success;
        TimeSpan? retryAfter = null;
        try
        {
            return await base.GetResponseAsync(messages, options, cancellationToken);
        }
        catch (Exception ex)
        {
            kind = ProviderErrorClassifier.Classify(ex);
            retryAfter = ProviderErrorClassifier.RetryAfter(ex);
            throw new ProviderCallException(kind, retryAfter, (ex as MalformedResponseException)?.Response, ex);
        }
        finally
        {
            // A hedge's loser was cancelled by the gateway, not failed by its provider: no circuit counts it.
            if (kind == ProviderCallKind.Success || !GatewayCallContext.IsSuperseded(options))
            {
                reporter.Report(provider, new ProviderCallOutcome(kind, Stopwatch.GetElapsedTime(started).TotalMilliseconds, time.GetUtcNow(),
                    retryAfter, GatewayCallContext.IsProbe(options)));
            }
        }
    }
}
