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
    int OutputTokens)
{
    /// <summary>The attempt that answered; null when none did.</summary>
    public AttemptRecord? Answered => Recommendations is null ? null : Attempts[^1];

    public decimal CostUsd => Attempts.Sum(a => a.CostUsd);

    public bool Failover => Attempts.Count > 1;

    public CareerPathResponse ToResponse(string requestId, long latencyMs)
    {
        var (snapshot, assignment, prompt) = Admission!;
        var answered = Answered!;
        ArgumentNullException.ThrowIfNull(prompt);
        return new CareerPathResponse(requestId, Recommendations!, new CareerPathMeta(
            snapshot.FeatureVersion, snapshot.SystemPromptVersion, snapshot.UserPromptVersion,
            assignment?.ExperimentId, assignment?.VariantId, answered.Provider, answered.Model,
            Cached: false, Stale: false, Failover, prompt.Truncated, InputTokens, OutputTokens, CostUsd, latencyMs, Attempts));
    }
}

/// <summary>The request failed with <see cref="Exception.InnerException"/>; <see cref="Outcome"/> holds what it did until then.</summary>
public sealed class CareerPathFailedException(Exception failure, CareerPathOutcome outcome) : Exception(failure.Message, failure)
{
    public CareerPathOutcome Outcome { get; } = outcome;
}

/// <summary>
/// One career-path request: admission (config snapshot → experiment variant → user quota → render
/// and limit the prompt), then the provider call through the chat-client pipeline (failover, budget,
/// health, validation). It returns what the request did; the API builds the response and the
/// telemetry line from that, once.
/// </summary>
public sealed class CareerPathPipeline(
    FeatureConfigCache configs,
    ExperimentCache experiments,
    UserQuotas quotas,
    InputLimiter limiter,
    IChatClient gateway,
    OutputTokenGovernor governor,
    IOptionsMonitor<RequestOptions> requestOptions)
{
    public async Task<CareerPathOutcome> ExecuteAsync(CareerPathRequest request, string requestId, DateTimeOffset startedAt, CancellationToken cancellationToken)
    {
        var deadline = TimeSpan.FromMilliseconds(requestOptions.CurrentValue.DeadlineMs);
        using var deadlineCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadlineCts.CancelAfter(deadline);
        Admission? admission = null;
        GatewayCallContext? context = null;
        try
        {
            // Decided on this replica, from state the grains push or sync: no grain call in steady state.
            // The snapshot is taken once: the request finishes on the version it started with.
            var snapshot = await configs.GetAsync(deadlineCts.Token);
            admission = new Admission(snapshot, snapshot.Settings.ExperimentId is { } experimentId
                ? await experiments.AssignAsync(experimentId, request.UserId!, deadlineCts.Token)
                : null);
            if (await quotas.TryStartAsync(request.UserId!, startedAt, deadlineCts.Token) is { } refusal)
            {
                throw new UserQuotaExceededException(refusal);
            }

            var prompt = limiter.Render(snapshot, request.UserProfile!, request.JobMarketData!);
            admission = admission with { Prompt = prompt };
            var preferred = request.Provider ?? admission.Assignment?.Provider ?? ProviderNames.OpenAI;
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

            var response = await gateway.GetResponseAsync(
                [new ChatMessage(ChatRole.System, prompt.System), new ChatMessage(ChatRole.User, prompt.User)],
                context.Attach(new ChatOptions()),
                deadlineCts.Token);

            var outcome = new CareerPathOutcome(admission, context.Attempts, response.GetRecommendations(),
                (int)(response.Usage?.InputTokenCount ?? prompt.InputTokens), (int)(response.Usage?.OutputTokenCount ?? 0));
            governor.Record(outcome.OutputTokens);
            quotas.AddTokens(request.UserId!, startedAt, outcome.InputTokens + outcome.OutputTokens);
            return outcome;
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
