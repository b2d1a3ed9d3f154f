using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Grains.Experiments;
using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Pipeline;

/// <summary>What was decided before any provider was called: the versions, the variant and (once the quota allowed it) the prompt.</summary>
public sealed record Admission(FeatureSnapshot Snapshot, VariantAssignment? Assignment, RenderedPrompt? Prompt = null);

/// <summary>What one request did, success or failure: the single source of its response meta and its telemetry line.</summary>
public sealed record CareerPathOutcome(
    Admission? Admission,
    IReadOnlyList<AttemptRecord> Attempts,
    IReadOnlyList<Recommendation>? Recommendations,
    int InputTokens,
    int OutputTokens,
    CachedAnswer? Cached = null,
    bool Stale = false)
{
    /// <summary>The attempt that answered; null when none did, or when the answer came from the cache.</summary>
    public AttemptRecord? Answered => Recommendations is null || Cached is not null ? null : Attempts[^1];

    /// <summary>The provider and model whose answer this is (for a cache hit, the ones that made it).</summary>
    public string? Provider => Cached?.Provider ?? Answered?.Provider;

    public string? Model => Cached?.Model ?? Answered?.Model;

    public bool Truncated => Cached?.Truncated ?? Admission?.Prompt?.Truncated ?? false;

    public decimal CostUsd => Attempts.Sum(a => a.CostUsd);

    public bool Failover => Attempts.Count > 1;

    public CareerPathResponse ToResponse(string requestId, long latencyMs)
    {
        var (snapshot, assignment, _) = Admission!;
        return new CareerPathResponse(requestId, Recommendations!, new CareerPathMeta(
            snapshot.FeatureVersion, snapshot.SystemPromptVersion, snapshot.UserPromptVersion,
            assignment?.ExperimentId, assignment?.VariantId, Provider!, Model!,
            Cached: Cached is not null, Stale, Failover, Truncated, InputTokens, OutputTokens, CostUsd, latencyMs, Attempts));
    }
}

/// <summary>The request failed with <see cref="Exception.InnerException"/>; <see cref="Outcome"/> holds what it did until then.</summary>
public sealed class CareerPathFailedException(Exception failure, CareerPathOutcome outcome) : Exception(failure.Message, failure)
{
    public CareerPathOutcome Outcome { get; } = outcome;
}

/// <summary>
/// One career-path request: admission (config snapshot → experiment variant → user quota), the
/// response cache, then (on a miss) the prompt and the provider call through the chat-client pipeline
/// (failover, budget, health, validation). It returns what the request did; the API builds the
/// response and the telemetry line from that, once.
/// </summary>
public sealed class CareerPathPipeline(
    FeatureConfigCache configs,
    ExperimentCache experiments,
    UserQuotas quotas,
    InputLimiter limiter,
    IChatClient gateway,
    OutputTokenGovernor governor,
    ResponseCache cache,
    TimeProvider time,
    IOptionsMonitor<RequestOptions> requestOptions)
{
    public async Task<CareerPathOutcome> ExecuteAsync(
        CareerPathRequest request, string requestId, DateTimeOffset startedAt, CancellationToken cancellationToken,
        CacheDirective directive = CacheDirective.Default)
    {
        var deadline = TimeSpan.FromMilliseconds(requestOptions.CurrentValue.DeadlineMs);
        using var deadlineCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadlineCts.CancelAfter(deadline);
        Admission? admission = null;
        GatewayCallContext? context = null;
        CachedAnswer? stale = null;
        try
        {
            // Decided on this replica, from state the grains push or sync: no grain call in steady state.
            // The snapshot is taken once: the request finishes on the version it started with.
            // A variant that pins versions or a model serves a snapshot of its own.
            var (assignment, snapshot) = await experiments.AssignAsync(await configs.GetAsync(deadlineCts.Token), request.UserId!, deadlineCts.Token);
            admission = new Admission(snapshot, assignment);
            if (await quotas.TryStartAsync(request.UserId!, startedAt, deadlineCts.Token) is { } refusal)
            {
                throw new UserQuotaExceededException(refusal);
            }

            var preferred = request.Provider ?? admission.Assignment?.Provider ?? ProviderNames.OpenAI;

            // The cache: a hit is served, not billed (it already counted against the user's quota above).
            var plan = cache.Plan(snapshot, admission.Assignment, preferred, request, directive);
            var claimed = false;
            if (plan is null || directive == CacheDirective.NoCache)
            {
                cache.Count(CacheResult.Bypass);
            }
            else
            {
                var local = await cache.GetLocalAsync(plan, deadlineCts.Token);
                if (local is not null && cache.IsFresh(local, plan))
                {
                    return Hit(admission, local, CacheResult.Hit);
                }

                // A local miss: one grain call reads the cluster's level and, if it misses too, elects this
                // replica to fill the entry or waits (within the deadline) for the one that does.
                var left = startedAt + deadline - time.GetUtcNow();
                var claim = left > TimeSpan.Zero ? await cache.ClaimAsync(plan, left, deadlineCts.Token) : throw new DeadlineExceededException(deadline);
                if (claim.Fresh is not null)
                {
                    return Hit(admission, claim.Fresh, CacheResult.Hit);
                }

                stale = claim.Stale ?? local;
                claimed = claim.Claimed;
                if (!claimed)
                {
                    // The replica filling the entry did not answer within this request's deadline.
                    return stale is not null ? Hit(admission, stale, CacheResult.Stale) : throw new DeadlineExceededException(deadline);
                }

                cache.Count(CacheResult.Miss);
            }

            RenderedPrompt prompt;
            ChatResponse response;
            try
            {
                prompt = limiter.Render(snapshot, request.UserProfile!, request.JobMarketData!);
                admission = admission with { Prompt = prompt };
                context = new GatewayCallContext
                {
                    RequestId = requestId,
                    Month = startedAt.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture),
                    Deadline = startedAt + deadline,
                    DeadlineDuration = deadline,
                    InputTokens = prompt.InputTokens,
                    ProviderOrder = [preferred, .. ProviderNames.All.Where(p => p != preferred)],
                    Settings = snapshot.Settings,
                };

                response = await gateway.GetResponseAsync(
                    [new ChatMessage(ChatRole.System, prompt.System), new ChatMessage(ChatRole.User, prompt.User)],
                    context.Attach(new ChatOptions()),
                    deadlineCts.Token);
            }
            catch (Exception) when (claimed)
            {
                // Whatever ended this fill (the prompt, the providers, the deadline), the next waiter may try.
                cache.Abandon(plan!);
                throw;
            }

            var outcome = new CareerPathOutcome(admission, context.Attempts, response.GetRecommendations(),
                (int)(response.Usage?.InputTokenCount ?? prompt.InputTokens), (int)(response.Usage?.OutputTokenCount ?? 0));
            governor.Record(outcome.OutputTokens);
            quotas.AddTokens(request.UserId!, startedAt, outcome.InputTokens + outcome.OutputTokens);
            if (plan is not null)
            {
                // Only the answer of the provider and model the key names is stored under it: a failover or a
                // soft-limit downgrade answered another question.
                if (outcome.Provider == plan.Provider && outcome.Model == plan.Model)
                {
                    await cache.StoreAsync(plan, new CachedAnswer(outcome.Recommendations!, plan.Provider, plan.Model, prompt.Truncated, time.GetUtcNow()), CancellationToken.None);
                }
                else if (claimed)
                {
                    cache.Abandon(plan);
                }
            }

            return outcome;

            CareerPathOutcome Hit(Admission admitted, CachedAnswer answer, CacheResult result)
            {
                cache.Count(result);
                return new CareerPathOutcome(admitted, context?.Attempts ?? [], answer.Recommendations, 0, 0, answer, result == CacheResult.Stale);
            }
        }
        catch (Exception ex) when (stale is not null && admission is not null
            && (ex is NoProviderAvailableException || (ex is OperationCanceledException && deadlineCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)))
        {
            // Every provider failed, or none answered in time: an answer past its TTL beats a 503 or a 504.
            cache.Count(CacheResult.Stale);
            return new CareerPathOutcome(admission, context?.Attempts ?? [], stale.Recommendations, 0, 0, stale, Stale: true);
        }
        catch (Exception ex)
        {
            var failure = ex is OperationCanceledException && deadlineCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested
                ? new DeadlineExceededException(deadline)
                : ex;
            if (context is not null)
            {
                // The prompt was sent at least once: it counts against the user's daily tokens.
                quotas.AddTokens(request.UserId!, startedAt, context.InputTokens);
            }

            throw new CareerPathFailedException(failure, new CareerPathOutcome(admission, context?.Attempts ?? [], null, admission?.Prompt?.InputTokens ?? 0, 0));
        }
    }
}
