using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Telemetry;
using Navigator.Grains.Providers;
using Polly;
using Polly.Hedging;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Tries the request's providers in order within its deadline.
/// <list type="bullet">
/// <item>An open circuit is skipped at once; a half-open one is called only with one of the cluster's probe permits.</item>
/// <item>Each attempt gets a timeout from the time that remains (capped by the provider's attemptTimeoutMs)
/// and the provider's model parameters from the feature config.</item>
/// <item>Only a provider's own failure (<see cref="ProviderCallException"/>) moves on; a budget refusal, the deadline or any gateway error ends the request.</item>
/// <item>A hedge (Polly's hedging strategy): when the first attempt has not answered within its provider's recent p95 or
/// providers:hedging:delayMs, the next provider starts too; the first answer wins and the other is cancelled
/// (recorded as superseded, charged by the budget layer, not reported to its circuit). See <see cref="HedgeDelay"/>.</item>
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
    RecentLatencies latencies,
    GatewayMetrics metrics,
    TimeProvider time) : IChatClient
{
    /// <summary>An attempt with less time than this left is not started.</summary>
    public static readonly TimeSpan MinimumAttemptTime = TimeSpan.FromMilliseconds(50);

    /// <summary>Retry-After used for a 503 when no circuit says when to come back.</summary>
    public static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);

    private static readonly ResiliencePropertyKey<FailoverRun> RunKey = new("navigator.failover");
    private static readonly ResiliencePropertyKey<int> IndexKey = new("navigator.failover.index");

    /// <summary>
    /// Polly's hedging strategy runs the providers in order: the next one starts at once when an attempt fails at its
    /// provider (failover), or after the hedging delay while the first still runs (a hedge). The first answer wins and
    /// Polly cancels the others. Anything but a provider's failure (a budget refusal, a ledger error, the deadline)
    /// is not handled, so it ends the request as it did before hedging.
    /// </summary>
    private readonly ResiliencePipeline<Attempt> _pipeline = new ResiliencePipelineBuilder<Attempt> { TimeProvider = time }
        .AddHedging(new HedgingStrategyOptions<Attempt>
        {
            MaxHedgedAttempts = ProviderNames.All.Count - 1,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome is { Exception: null, Result.Response: null }),
            ActionGenerator = args =>
            {
                if (args.AttemptNumber >= args.PrimaryContext.Properties.GetValue(RunKey, null!).Candidates.Count)
                {
                    return null;
                }

                args.ActionContext.Properties.Set(IndexKey, args.AttemptNumber);
                return () => args.Callback(args.ActionContext);
            },
            DelayGenerator = args => ValueTask.FromResult(args.Context.Properties.GetValue(RunKey, null!).Client.HedgeDelay(args.Context, args.AttemptNumber)),
        })
        .Build();

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var context = GatewayCallContext.From(options);
        var run = new FailoverRun(this, messages, options!, context, cancellationToken,
            [.. context.ProviderOrder.Where(p => providers.ContainsKey(p) && context.Settings.Providers.ContainsKey(p))]);
        try
        {
            return await RunAsync(run);
        }
        finally
        {
            // Hedged attempts finish out of order; the record reads in the order they started.
            lock (context.Attempts)
            {
                context.Attempts.Sort((a, b) => a.Attempt.CompareTo(b.Attempt));
            }
        }
    }

    private async Task<ChatResponse> RunAsync(FailoverRun run)
    {
        var context = run.Context;
        if (run.Candidates.Count > 0)
        {
            var resilience = ResilienceContextPool.Shared.Get(run.RequestToken);
            resilience.Properties.Set(RunKey, run);
            try
            {
                var outcome = await _pipeline.ExecuteOutcomeAsync(
                    static async (attemptContext, run) =>
                    {
                        try
                        {
                            return Outcome.FromResult(await run.Client.AttemptAsync(run, attemptContext));
                        }
                        catch (Exception ex)
                        {
                            return Outcome.FromException<Attempt>(ex);
                        }
                    },
                    resilience,
                    run);
                outcome.ThrowIfException();
                if (outcome.Result.Response is { } answer)
                {
                    return answer;
                }
            }
            finally
            {
                ResilienceContextPool.Shared.Return(resilience);
            }
        }

        // A hedge the gateway refused while another attempt ran did not end the request then; with no answer, it does.
        run.Declined?.Throw();

        if (run.RateLimited is { } limited && context.Deadline - time.GetUtcNow() - limited.Wait >= MinimumAttemptTime)
        {
            await Task.Delay(limited.Wait, time, run.RequestToken);
            var retry = await TryProviderAsync(limited.Provider, run, run.RequestToken);
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
            var last = await TryProviderAsync(lastResort, run, run.RequestToken, lastResort: true);
            if (last.Response is not null)
            {
                return last.Response;
            }
        }

        throw new NoProviderAvailableException(context.Attempts, circuits.EarliestProbe() ?? DefaultRetryAfter);
    }

    /// <summary>One of Polly's attempts: the candidate at its index (the primary's is 0).</summary>
    private async Task<Attempt> AttemptAsync(FailoverRun run, ResilienceContext attemptContext)
    {
        var provider = run.Candidates[attemptContext.Properties.GetValue(IndexKey, 0)];
        if (Interlocked.Increment(ref run.Running) > 1)
        {
            metrics.RecordHedge(provider);
        }

        try
        {
            return await TryProviderAsync(provider, run, attemptContext.CancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && Volatile.Read(ref run.Running) > 1)
        {
            // The gateway refused this attempt (the budget, the ledger) while another one is still running: that one
            // goes on. Should it fail too, the request ends with this refusal, as it would have without the hedge.
            run.Decline(ex);
            return default;
        }
        finally
        {
            Interlocked.Decrement(ref run.Running);
        }
    }

    /// <summary>
    /// How long the attempt just started (at <paramref name="started"/> − 1) runs alone: its provider's recent p95 or
    /// providers:hedging:delayMs, whichever is earlier, but not under minDelayMs. Infinite (no hedge: the next provider
    /// starts only if this one fails) when hedging is off, no provider is left, either circuit is not closed, or the
    /// hedge would start with less than minAttemptMs before the deadline.
    /// </summary>
    private TimeSpan HedgeDelay(ResilienceContext resilience, int started)
    {
        var run = resilience.Properties.GetValue(RunKey, null!);
        var hedging = settings.CurrentValue.Hedging;
        // Only from a closed circuit to a closed one: a half-open circuit's probe must be allowed to finish, its outcome
        // decides whether the circuit closes.
        if (!hedging.Enabled || started >= run.Candidates.Count
            || circuits.Decide(run.Candidates[started - 1]) != CircuitDecision.Call || circuits.Decide(run.Candidates[started]) != CircuitDecision.Call)
        {
            return Timeout.InfiniteTimeSpan;
        }

        var delay = TimeSpan.FromMilliseconds(hedging.DelayMs);
        if (latencies.P95(run.Candidates[started - 1]) is { } p95 && p95 < delay)
        {
            delay = TimeSpan.FromMilliseconds(Math.Max(p95.TotalMilliseconds, hedging.MinDelayMs));
        }

        return run.Context.Deadline - time.GetUtcNow() - delay >= TimeSpan.FromMilliseconds(hedging.MinAttemptMs) ? delay : Timeout.InfiniteTimeSpan;
    }

    /// <summary>The first provider this request skipped for a circuit the breaker opened (not an operator), if any.</summary>
    private string? LastResort(GatewayCallContext context) => context.ProviderOrder.FirstOrDefault(provider =>
        context.Attempts.Any(a => a.Provider == provider && a.Outcome == AttemptOutcome.CircuitOpen)
        && context.Attempts.All(a => a.Provider != provider || a.Outcome == AttemptOutcome.CircuitOpen)
        && circuits.Get(provider) is { Mode: CircuitMode.Auto });

    /// <summary>
    /// One call to <paramref name="provider"/>, unless its circuit says skip. The attempt token is the request's, or
    /// the one Polly gives an attempt: that one is also cancelled when another attempt wins.
    /// </summary>
    private async Task<Attempt> TryProviderAsync(string provider, FailoverRun run, CancellationToken attemptToken, bool lastResort = false)
    {
        var context = run.Context;
        var model = context.Settings.Providers[provider];
        var attempt = Interlocked.Increment(ref run.Started);
        var decision = lastResort ? CircuitDecision.Call : circuits.Decide(provider);
        if (decision == CircuitDecision.Skip
            || (decision == CircuitDecision.Probe && !await circuits.TryAcquireProbeAsync(provider, attemptToken)))
        {
            Record(context, new AttemptRecord(attempt, provider, model.Model, AttemptOutcome.CircuitOpen, 0, 0));
            return default;
        }

        var probe = decision == CircuitDecision.Probe;
        var remaining = context.Deadline - time.GetUtcNow();
        if (remaining < MinimumAttemptTime)
        {
            ReleaseUnused(provider, probe);
            throw new DeadlineExceededException(context.DeadlineDuration);
        }

        var superseded = new AttemptSignal();
        var attemptOptions = GatewayCallContext.ForAttempt(run.Options, provider, attempt, isProbe: probe, superseded);
        attemptOptions.ModelId = model.Model;
        attemptOptions.Temperature = model.Temperature;
        var maxTokens = attemptOptions.MaxOutputTokens =
            governor.MaxTokens(Math.Min(model.MaxOutputTokens, context.Settings.MaxOutputTokens), context.Settings.TargetOutputTokens);
        if (provider == ProviderNames.OpenAI)
        {
            attemptOptions.ResponseFormat = ChatResponseFormat.Json;
        }

        var timeout = TimeSpan.FromMilliseconds(Math.Min(remaining.TotalMilliseconds, settings.CurrentValue.Get(provider).AttemptTimeoutMs));
        using var attemptCts = new CancellationTokenSource();
        attemptCts.CancelAfter(timeout);
        // One callback, so the mark is set before anything below can see the cancellation: the attempt token cancelled
        // while the request's is not means another attempt won, and the provider did nothing wrong.
        using var cancelled = attemptToken.Register(() =>
        {
            superseded.IsSet = !run.RequestToken.IsCancellationRequested;
            attemptCts.Cancel();
        });
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await providers[provider].GetResponseAsync(run.Messages, attemptOptions, attemptCts.Token);
            var charge = response.GetCharge();
            var elapsed = Elapsed(started);
            latencies.Record(provider, elapsed);
            Record(context, new AttemptRecord(attempt, provider, charge?.Model ?? model.Model, AttemptOutcome.Success, elapsed,
                charge?.CostUsd ?? 0, maxTokens.Value, response.GetDowngraded()));
            return new Attempt(response);
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
        catch (ProviderCallException ex) when (superseded.IsSet)
        {
            // A hedge's loser: its outcome went to no circuit, so an unused probe permit goes back here. It is charged
            // what the budget layer charged a cut-off attempt (its reservation).
            ReleaseUnused(provider, probe);
            Record(context, new AttemptRecord(attempt, provider, ex.Charge?.Model ?? model.Model, AttemptOutcome.Superseded, Elapsed(started),
                ex.Charge?.CostUsd ?? 0, maxTokens.Value, ex.Downgraded));
            return default;
        }
        catch (ProviderCallException ex) when (!run.RequestToken.IsCancellationRequested)
        {
            // Only the provider's own failures move on to the next provider. A ledger, storage or
            // configuration error propagates: it would fail on the next provider too, and paying a
            // second provider for it would be wrong.
            Record(context, Failed(attempt, provider, model.Model, ex, Elapsed(started), maxTokens.Value));
            if (ex.Kind == ProviderCallKind.RateLimited && ex.RetryAfter is { } wait)
            {
                run.OnRateLimited(provider, wait);
            }

            return default;
        }
        catch (ProviderCallException ex) when (ex.InnerException is OperationCanceledException canceled)
        {
            // The request's deadline (not the attempt's timeout) cut the call off.
            Record(context, Failed(attempt, provider, model.Model, ex, Elapsed(started), maxTokens.Value));
            throw new OperationCanceledException(canceled.Message, canceled, run.RequestToken);
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
        lock (context.Attempts)
        {
            context.Attempts.Add(record);
        }

        metrics.RecordAttempt(record, isFailover: record.Attempt > 1);
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

    /// <summary>What one attempt came to: the answer, or none (default: skipped, failed at the provider, superseded or declined).</summary>
    private readonly record struct Attempt(ChatResponse? Response);

    /// <summary>One request's failover: its inputs and what its concurrent attempts share.</summary>
    private sealed class FailoverRun(
        ProviderFailoverChatClient client,
        IEnumerable<ChatMessage> messages,
        ChatOptions options,
        GatewayCallContext context,
        CancellationToken requestToken,
        IReadOnlyList<string> candidates)
    {
        private readonly Lock _lock = new();

        public int Started;
        public int Running;

        public ProviderFailoverChatClient Client => client;
        public IEnumerable<ChatMessage> Messages => messages;
        public ChatOptions Options => options;
        public GatewayCallContext Context => context;
        public CancellationToken RequestToken => requestToken;

        /// <summary>The request's providers in order, those configured for its feature.</summary>
        public IReadOnlyList<string> Candidates => candidates;

        /// <summary>The first provider that answered 429 with a Retry-After.</summary>
        public (string Provider, TimeSpan Wait)? RateLimited { get; private set; }

        public ExceptionDispatchInfo? Declined { get; private set; }

        public void OnRateLimited(string provider, TimeSpan wait)
        {
            lock (_lock)
            {
                RateLimited ??= (provider, wait);
            }
        }

        public void Decline(Exception ex)
        {
            lock (_lock)
            {
                Declined ??= ExceptionDispatchInfo.Capture(ex);
            }
        }
    }
}
