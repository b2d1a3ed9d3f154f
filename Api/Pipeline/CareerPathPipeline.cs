using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Telemetry;

namespace Navigator.Api.Pipeline;

/// <summary>
/// One career-path request: config snapshot → experiment variant → render and limit the prompt →
/// provider call through the chat-client pipeline (failover, budget, health, validation) → response.
/// Everything it learns goes into the request's <see cref="RequestTelemetry"/>, failures included.
/// </summary>
public sealed class CareerPathPipeline(
    FeatureConfigCache configs,
    ExperimentCache experiments,
    UserQuotas quotas,
    InputLimiter limiter,
    IChatClient gateway,
    OutputTokenGovernor governor,
    IOptionsMonitor<RequestOptions> requestOptions,
    TimeProvider time)
{
    public async Task<CareerPathResponse> ExecuteAsync(CareerPathRequest request, RequestTelemetry telemetry, CancellationToken cancellationToken)
    {
        var options = requestOptions.CurrentValue;
        var deadline = TimeSpan.FromMilliseconds(options.DeadlineMs);
        var startedAt = time.GetUtcNow();
        using var deadlineCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadlineCts.CancelAfter(deadline);
        var token = deadlineCts.Token;

        try
        {
            // The snapshot is taken once: the request finishes on the version it started with.
            var snapshot = await configs.GetAsync(token);
            telemetry.FeatureVersion = snapshot.FeatureVersion;
            telemetry.SystemPromptVersion = snapshot.SystemPromptVersion;
            telemetry.UserPromptVersion = snapshot.UserPromptVersion;

            // Both decided on this replica, from state the grains push or sync: no grain call in steady state.
            var assignment = snapshot.Settings.ExperimentId is { } experimentId
                ? await experiments.AssignAsync(experimentId, request.UserId!, token)
                : null;
            if (assignment is not null)
            {
                telemetry.ExperimentId = assignment.ExperimentId;
                telemetry.VariantId = assignment.VariantId;
            }

            if (await quotas.TryStartAsync(request.UserId!, startedAt, token) is { } refusal)
            {
                throw new UserQuotaExceededException(refusal);
            }

            var prompt = limiter.Render(snapshot, request.UserProfile!, request.JobMarketData!);
            telemetry.Truncated = prompt.Truncated;
            telemetry.InputTokens = prompt.InputTokens;

            var preferred = request.Provider ?? assignment?.Provider ?? ProviderNames.OpenAI;
            var context = new GatewayCallContext
            {
                RequestId = telemetry.RequestId,
                Month = startedAt.UtcDateTime.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture),
                Deadline = startedAt + deadline,
                DeadlineDuration = deadline,
                InputTokens = prompt.InputTokens,
                ProviderOrder = [preferred, .. ProviderNames.All.Where(p => p != preferred)],
                Settings = snapshot.Settings,
            };

            try
            {
                var response = await gateway.GetResponseAsync(
                    [new ChatMessage(ChatRole.System, prompt.System), new ChatMessage(ChatRole.User, prompt.User)],
                    context.Attach(new ChatOptions()),
                    token);

                var success = context.Attempts[^1];
                telemetry.Provider = success.Provider;
                telemetry.Model = success.Model;
                telemetry.OutputTokens = (int)(response.Usage?.OutputTokenCount ?? 0);
                telemetry.InputTokens = (int)(response.Usage?.InputTokenCount ?? prompt.InputTokens);
                telemetry.LatencyMs = (long)(time.GetUtcNow() - startedAt).TotalMilliseconds;
                governor.Record(telemetry.OutputTokens);

                return new CareerPathResponse(
                    telemetry.RequestId,
                    context.Recommendations!,
                    new CareerPathMeta(
                        snapshot.FeatureVersion,
                        snapshot.SystemPromptVersion,
                        snapshot.UserPromptVersion,
                        assignment?.ExperimentId,
                        assignment?.VariantId,
                        success.Provider,
                        success.Model,
                        Cached: false,
                        Stale: false,
                        Failover: context.Attempts.Count > 1,
                        prompt.Truncated,
                        telemetry.InputTokens,
                        telemetry.OutputTokens,
                        context.TotalCostUsd,
                        telemetry.LatencyMs,
                        context.Attempts));
            }
            finally
            {
                telemetry.Attempts = context.Attempts;
                telemetry.Failover = context.Attempts.Count > 1;
                telemetry.CostUsd = context.TotalCostUsd;
                telemetry.Downgraded = context.Downgraded;
                telemetry.MaxOutputTokens = context.MaxOutputTokens;
                // Count the tokens every attempt was charged for against the user's daily quota.
                quotas.AddTokens(request.UserId!, startedAt, telemetry.InputTokens + telemetry.OutputTokens);
            }
        }
        catch (OperationCanceledException) when (deadlineCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new DeadlineExceededException(deadline);
        }
    }
}
