using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Tries the request's providers in order within its deadline. Each attempt gets a timeout taken
/// from the time that remains (capped by the provider's attemptTimeoutMs) and the provider's model
/// parameters from the feature config. A budget refusal or a deadline ends the request; any other
/// failure moves on to the next provider.
/// </summary>
public sealed class ProviderFailoverChatClient(
    IReadOnlyDictionary<string, IChatClient> providers,
    IOptionsMonitor<ProvidersOptions> settings,
    OutputTokenGovernor governor,
    TimeProvider time) : IChatClient
{
    /// <summary>An attempt with less time than this left is not started.</summary>
    public static readonly TimeSpan MinimumAttemptTime = TimeSpan.FromMilliseconds(50);

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var context = GatewayCallContext.From(options);
        var attempt = 0;
        foreach (var provider in context.ProviderOrder)
        {
            if (!providers.TryGetValue(provider, out var client) || !context.Settings.Providers.TryGetValue(provider, out var model))
            {
                continue;
            }

            var remaining = context.Deadline - time.GetUtcNow();
            if (remaining < MinimumAttemptTime)
            {
                throw new DeadlineExceededException(context.DeadlineDuration);
            }

            attempt++;
            var attemptOptions = GatewayCallContext.ForAttempt(options!, provider, attempt);
            attemptOptions.ModelId = model.Model;
            attemptOptions.Temperature = model.Temperature;
            attemptOptions.MaxOutputTokens = context.MaxOutputTokens =
                governor.MaxTokens(Math.Min(model.MaxOutputTokens, context.Settings.MaxOutputTokens), context.Settings.TargetOutputTokens);
            if (provider == ProviderNames.OpenAI)
            {
                attemptOptions.ResponseFormat = ChatResponseFormat.Json;
            }

            var timeout = TimeSpan.FromMilliseconds(Math.Min(remaining.TotalMilliseconds, settings.CurrentValue.Get(provider).AttemptTimeoutMs));
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptCts.CancelAfter(timeout);
            context.AttemptCostUsd = 0;
            context.AttemptModel = null;
            var started = Stopwatch.GetTimestamp();
            try
            {
                var response = await client.GetResponseAsync(messages, attemptOptions, attemptCts.Token);
                context.Attempts.Add(new AttemptRecord(attempt, provider, context.AttemptModel ?? model.Model, "success", Elapsed(started), context.AttemptCostUsd));
                return response;
            }
            catch (BudgetExhaustedException)
            {
                context.Attempts.Add(new AttemptRecord(attempt, provider, model.Model, "budget_exhausted", Elapsed(started), 0));
                throw;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                var kind = ProviderErrorClassifier.Classify(ex);
                context.Attempts.Add(new AttemptRecord(attempt, provider, context.AttemptModel ?? model.Model, ProviderErrorClassifier.Describe(kind), Elapsed(started), context.AttemptCostUsd));
            }
        }

        throw new NoProviderAvailableException(context.Attempts, TimeSpan.FromSeconds(5));
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The career-path pipeline does not stream.");

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private static double Elapsed(long started) => Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1);
}
