using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Telemetry;
using Navigator.Grains.Providers;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Tries the request's providers in order within its deadline.
/// <list type="bullet">
/// <item>An open circuit is skipped at once; a half-open one is called only with one of the cluster's probe permits.</item>
/// <item>Each attempt gets a timeout from the time that remains (capped by the provider's attemptTimeoutMs)
/// and the provider's model parameters from the feature config.</item>
/// <item>Only a provider's own failure (<see cref="ProviderCallException"/>) moves on; a budget refusal, the deadline or any gateway error ends the request.</item>
/// <item>When every provider failed and one answered 429 with a Retry-After that still fits the deadline,
/// that provider is tried once more after waiting.</item>
/// <item>When the providers tried really failed and one was skipped for a circuit the breaker opened (not an operator's
/// forceOpen), it gets one last-resort call in the time that remains: a circuit can stay open after its provider
/// recovered. Its outcome does not move the open breaker.</item>
/// </list>
/// Microsoft.Extensions.AI's own FailoverChatClient (10.11) is experimental and knows neither the
/// request deadline nor a cluster-wide circuit, so the gateway keeps this one.
/// </summary>
public sealed class ProviderFailoverChatClient(
    IReadOnlyDictionary<string, IChatClient> providers,
    IOptionsMonitor<ProvidersOptions> settings,
    OutputTokenGovernor governor,
    CircuitStateCache circuits,
    GatewayMetrics metrics,
    TimeProvider time) : IChatClient
{
    /// <summary>An attempt with less time than this left is not started.</summary>
    public static readonly TimeSpan MinimumAttemptTime = TimeSpan.FromMilliseconds(50);

    /// <summary>Retry-After used for a 503 when no circuit says when to come back.</summary>
    public static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var context = GatewayCallContext.From(options);
        (string Provider, TimeSpan Wait)? rateLimited = null;
        foreach (var provider in context.ProviderOrder)
        {
            if (!providers.ContainsKey(provider) || !context.Settings.Providers.ContainsKey(provider))
            {
                continue;
            }

            var result = await TryProviderAsync(provider, messages, options!, context, cancellationToken);
            if (result.Response is not null)
            {
                return result.Response;
            }

            if (result.Kind == ProviderCallKind.RateLimited && result.RetryAfter is { } wait)
            {
                rateLimited ??= (provider, wait);
            }
        }

        if (rateLimited is { } limited && context.Deadline - time.GetUtcNow() - limited.Wait >= MinimumAttemptTime)
        {
            await Task.Delay(limited.Wait, time, cancellationToken);
            var retry = await TryProviderAsync(limited.Provider, messages, options!, context, cancellationToken);
            if (retry.Response is not null)
            {
                return retry.Response;
            }
        }

        // Last resort: a provider skipped for its open circuit gets one call when the others really failed in this
        // request and time remains. Its circuit may be stale (it opened during an outage a minute ago); an operator's
        // forceOpen is never overridden, and a request that found every circuit open does not call one.
        if (context.Attempts.Any(a => a.Outcome is not (AttemptOutcome.CircuitOpen or AttemptOutcome.BudgetExhausted))
            && LastResort(context) is { } lastResort
            && context.Deadline - time.GetUtcNow() >= MinimumAttemptTime)
        {
            var last = await TryProviderAsync(lastResort, messages, options!, context, cancellationToken, lastResort: true);
            if (last.Response is not null)
            {
                return last.Response;
            }
        }

        throw new NoProviderAvailableException(context.Attempts, circuits.EarliestProbe() ?? DefaultRetryAfter);
    }

    /// <summary>The first provider this request skipped for a circuit the breaker opened (not an operator), if any.</summary>
    private string? LastResort(GatewayCallContext context) => context.ProviderOrder.FirstOrDefault(provider =>
        context.Attempts.Any(a => a.Provider == provider && a.Outcome == AttemptOutcome.CircuitOpen)
        && context.Attempts.All(a => a.Provider != provider || a.Outcome == AttemptOutcome.CircuitOpen)
        && circuits.Get(provider) is { Mode: CircuitMode.Auto });

    private async Task<(ChatResponse? Response, ProviderCallKind? Kind, TimeSpan? RetryAfter)> TryProviderAsync(
        string provider, IEnumerable<ChatMessage> messages, ChatOptions options, GatewayCallContext context, CancellationToken cancellationToken,
        bool lastResort = false)
    {
        var model = context.Settings.Providers[provider];
        var attempt = context.Attempts.Count + 1;
        var decision = lastResort ? CircuitDecision.Call : circuits.Decide(provider);
        if (decision == CircuitDecision.Skip
            || (decision == CircuitDecision.Probe && !await circuits.TryAcquireProbeAsync(provider, cancellationToken)))
        {
            Record(context, new AttemptRecord(attempt, provider, model.Model, AttemptOutcome.CircuitOpen, 0, 0));
            return (null, null, null);
        }

        var probe = decision == CircuitDecision.Probe;
        var remaining = context.Deadline - time.GetUtcNow();
        if (remaining < MinimumAttemptTime)
        {
            ReleaseUnused(provider, probe);
            throw new DeadlineExceededException(context.DeadlineDuration);
        }

        var attemptOptions = GatewayCallContext.ForAttempt(options, provider, attempt, isProbe: decision == CircuitDecision.Probe);
        attemptOptions.ModelId = model.Model;
        attemptOptions.Temperature = model.Temperature;
        var maxTokens = attemptOptions.MaxOutputTokens =
            governor.MaxTokens(Math.Min(model.MaxOutputTokens, context.Settings.MaxOutputTokens), context.Settings.TargetOutputTokens);
        if (provider == ProviderNames.OpenAI)
        {
            attemptOptions.ResponseFormat = ChatResponseFormat.Json;
        }

        var timeout = TimeSpan.FromMilliseconds(Math.Min(remaining.TotalMilliseconds, settings.CurrentValue.Get(provider).AttemptTimeoutMs));
        using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attemptCts.CancelAfter(timeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await providers[provider].GetResponseAsync(messages, attemptOptions, attemptCts.Token);
            var charge = response.GetCharge();
            Record(context, new AttemptRecord(attempt, provider, charge?.Model ?? model.Model, AttemptOutcome.Success, Elapsed(started),
                charge?.CostUsd ?? 0, maxTokens.Value, response.GetDowngraded()));
            return (response, ProviderCallKind.Success, null);
        }
        catch (Exception ex) when (ex is not ProviderCallException)
        {
            // The call never reached the provider (the budget refused it, or a ledger or storage error): no
            // outcome will return the probe permit, so it goes back now instead of being held until it times out.
            ReleaseUnused(provider, probe);
            if (ex is BudgetExhaustedException)
            {
                Record(context, new AttemptRecord(attempt, provider, model.Model, AttemptOutcome.BudgetExhausted, Elapsed(started), 0, maxTokens.Value));
            }

            throw;
        }
        catch (ProviderCallException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Only the provider's own failures move on to the next provider. A ledger, storage or
            // configuration error propagates: it would fail on the next provider too, and paying a
            // second provider for it would be wrong.
            Record(context, Failed(attempt, provider, model.Model, ex, Elapsed(started), maxTokens.Value));
            return (null, ex.Kind, ex.RetryAfter);
        }
        catch (ProviderCallException ex) when (ex.InnerException is OperationCanceledException canceled)
        {
            // The request's deadline (not the attempt's timeout) cut the call off.
            Record(context, Failed(attempt, provider, model.Model, ex, Elapsed(started), maxTokens.Value));
            throw new OperationCanceledException(canceled.Message, canceled, cancellationToken);
        }
    }

    private void ReleaseUnused(string provider, bool probe)
    {
        if (probe)
        {
            circuits.ReleaseProbe(provider);
        }
    }

    private static AttemptRecord Failed(int attempt, string provider, string model, ProviderCallException ex, double latencyMs, int maxTokens) =>
        new(attempt, provider, ex.Charge?.Model ?? model, ex.Kind.ToAttemptOutcome(), latencyMs, ex.Charge?.CostUsd ?? 0, maxTokens, ex.Downgraded);

    private void Record(GatewayCallContext context, AttemptRecord record)
    {
        context.Attempts.Add(record);
        metrics.RecordAttempt(record, isFailover: context.Attempts.Count > 1);
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
