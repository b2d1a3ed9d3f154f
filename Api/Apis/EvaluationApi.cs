using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Navigator.Api.Auth;
using Navigator.Api.Experiments;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Apis;

public sealed record EvaluateRequest(
    string? UserProfile,
    string? JobMarketData,
    string? FeatureVersion = null,
    string? SystemPromptVersion = null,
    string? UserPromptVersion = null,
    string? Provider = null,
    bool Judge = true);

public sealed record EvaluateResponse(
    string FeatureVersion,
    string SystemPromptVersion,
    string UserPromptVersion,
    string Provider,
    string Model,
    int Recommendations,
    QualityScore Quality,
    double? JudgeScore,
    decimal CostUsd,
    IReadOnlyList<Recommendation> Answer);

/// <summary>
/// <c>POST /admin/features/{feature}/evaluate</c>: one profile through a chosen feature version (or prompt
/// versions), outside any experiment and the response cache, scored by <see cref="QualityScorer"/> and, unless
/// turned off, by the LLM judge. The calls go through the provider pipeline and are charged to the month's
/// budget. <c>tools/Eval</c> runs the golden set with it.
/// </summary>
public static class EvaluationApi
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static IEndpointRouteBuilder MapEvaluationApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/admin/features/{feature}/evaluate", EvaluateAsync)
            .RequireAuthorization(AuthExtensions.AdminPolicy)
            .WithTags("Admin: features")
            .WithSummary("Answers one profile with a chosen feature version (or prompt versions) and scores the answer; charged to the budget.");
        return app;
    }

    public static async Task<IResult> EvaluateAsync(
        string feature,
        EvaluateRequest? body,
        IGrainFactory grains,
        InputLimiter limiter,
        IChatClient gateway,
        AnswerJudge judge,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(body?.UserProfile) || string.IsNullOrWhiteSpace(body.JobMarketData))
        {
            return Problems.Invalid("'userProfile' and 'jobMarketData' are required.");
        }

        if (body.UserProfile.Length > CareerPathsApi.MaxTextLength || body.JobMarketData.Length > CareerPathsApi.MaxTextLength)
        {
            return Problems.Invalid($"'userProfile' and 'jobMarketData' are at most {CareerPathsApi.MaxTextLength} characters.");
        }

        if (!CareerPathsApi.IsPlainText(body.UserProfile) || !CareerPathsApi.IsPlainText(body.JobMarketData))
        {
            return Problems.Invalid("'userProfile' and 'jobMarketData' must be plain text: no control character (such as NUL) and no unpaired surrogate.");
        }

        if (body.Provider is { } named && !ProviderNames.IsKnown(named))
        {
            return Problems.Invalid($"'provider' is one of: {string.Join(", ", ProviderNames.All)}.");
        }

        var resolved = await grains.GetGrain<IPromptConfigGrain>(feature).ResolveAsync(body.FeatureVersion, body.SystemPromptVersion, body.UserPromptVersion);
        if (resolved.Snapshot is not { } snapshot)
        {
            return Problems.ValidationFailed("The versions to evaluate are not published.", resolved.Errors);
        }

        var provider = body.Provider ?? ProviderNames.OpenAI;
        var prompt = limiter.Render(snapshot, body.UserProfile, body.JobMarketData);
        var requestId = $"eval_{Guid.CreateVersion7(time.GetUtcNow()):N}";
        var context = new GatewayCallContext
        {
            RequestId = requestId,
            Month = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture),
            Deadline = time.GetUtcNow() + Deadline,
            DeadlineDuration = Deadline,
            InputTokens = prompt.InputTokens,
            ProviderOrder = [provider, .. ProviderNames.All.Where(p => p != provider)],
            Settings = snapshot.Settings,
        };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Deadline);
        var response = await gateway.GetResponseAsync(
            [new ChatMessage(ChatRole.System, prompt.System), new ChatMessage(ChatRole.User, prompt.User)],
            context.Attach(new ChatOptions()),
            deadline.Token);
        var answered = context.Attempts[^1];
        var recommendations = response.GetRecommendations();
        var judgeCost = 0m;
        double? judgeScore = null;
        if (body.Judge)
        {
            var job = new JudgeJob(requestId, "", "", answered.Provider, snapshot.Settings, body.UserProfile, body.JobMarketData,
                JsonSerializer.Serialize(new { recommendations }, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
            (judgeScore, judgeCost) = await judge.ScoreAsync(job, deadline.Token);
        }

        return TypedResults.Ok(new EvaluateResponse(
            snapshot.FeatureVersion, snapshot.SystemPromptVersion, snapshot.UserPromptVersion, answered.Provider, answered.Model,
            recommendations.Count, QualityScorer.Score(recommendations, snapshot.Settings.RecommendationCount, body.UserProfile, body.JobMarketData),
            judgeScore, context.Attempts.Sum(a => a.CostUsd) + judgeCost, recommendations));
    }
}
