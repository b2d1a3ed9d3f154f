using System.Diagnostics;
using Microsoft.Extensions.AI;
using Navigator.Grains.Providers;

namespace Navigator.Api.Pipeline;

/// <summary>Reports each attempt's outcome to the provider's cluster-wide health grain, without waiting for it.</summary>
public sealed class HealthReportingChatClient(IChatClient inner, IGrainFactory grains, TimeProvider time) : DelegatingChatClient(inner)
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
            throw;
        }
        finally
        {
            // [OneWay]: the call returns at once; the response never waits on the grain.
            _ = grains.GetGrain<IProviderHealthGrain>(provider)
                .RecordAsync(new ProviderCallOutcome(kind, Stopwatch.GetElapsedTime(started).TotalMilliseconds, time.GetUtcNow(),
                    retryAfter, GatewayCallContext.IsProbe(options)));
        }
    }
}
