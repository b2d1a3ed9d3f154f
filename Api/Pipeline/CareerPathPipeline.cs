using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Telemetry;
using Navigator.Grains.Experiments;
using Navigator.Grains.Quotas;

namespace Navigator.Api.Pipeline;

/// <summary>
/// One career-path request: config snapshot → experiment variant → render and limit the prompt →
/// provider call through the chat-client pipeline (failover, budget, health, validation) → response.
/// Everything it learns goes into the request's <see cref="RequestTelemetry"/>, failures included.
/// </summary>
public sealed class CareerPathPipeline(
    IGrainFactory grains,
    FeatureConfigCache configs,
    InputLimiter limiter,
    IChatClient gateway,
    OutputTokenGovernor governor,
    IOptionsMonitor<RequestOptions> requestOptions,
    IOptionsMonitor<UserQuotaOptions> quotas,
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

            // The variant and the user's quota are independent grain calls: ask both at once.
            var quota = grains.GetGrain<IUserQuotaGrain>($"{request.UserId}/{startedAt.UtcDateTime:yyyy-MM-dd}");
            var limits = quotas.CurrentValue;
            var decisionTask = quota.TryStartRequestAsync(limits.RequestsPerDay, limits.TokensPerDay).WaitAsync(token);
            var assignmentTask = snapshot.Settings.ExperimentId is { } experimentId
                ? grains.GetGrain<IExperimentGrain>(experimentId).AssignAsync(request.UserId!).WaitAsync(token)
                : Task.FromResult<VariantAssignment?>(null)!;
            await Task.WhenAll(decisionTask, assignmentTask);
            var assignment = await assignmentTask;
            if (assignment is not null)
            {
                telemetry.ExperimentId = assignment.ExperimentId;
                telemetry.VariantId = assignment.VariantId;
            }

            var decision = await decisionTask;
            if (!decision.Allowed)
            {
                throw new UserQuotaExceededException(decision.Reason!);
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
                _ = quota.AddTokensAsync(telemetry.InputTokens + telemetry.OutputTokens);
            }
        }
        catch (OperationCanceledException) when (deadlineCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new DeadlineExceededException(deadline);
        }
    }
}
