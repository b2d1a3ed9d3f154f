using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;
using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Experiments;

/// <summary>An answer in an experiment, picked for the judge.</summary>
public sealed record JudgeJob(
    string RequestId, string ExperimentId, string VariantId, string Provider, FeatureSettings Settings,
    string UserProfile, string JobMarketData, string Answer);

/// <summary>
/// Judges a sampled share (<c>experiments:judgeSampleRate</c>) of the answers in experiments with
/// <see cref="CareerPathJudge"/>, off the request path: a request only offers its answer to a bounded queue
/// (full: the answer is not judged, and that is counted). The judge's call goes through the gateway's own
/// provider pipeline (failover, circuits, the budget lease, health reporting), so it is charged to the month
/// like any call; its outcomes and cost are counted apart (<c>navigator_judge_total</c>,
/// <c>navigator_judge_cost_usd_total</c>), and its scores reach the variant's <c>judgeScore</c>.
/// </summary>
public sealed partial class AnswerJudge(
    IChatClient gateway,
    TokenCounter tokens,
    ExperimentReporter reporter,
    GatewayMetrics metrics,
    IOptionsMonitor<ExperimentOptions> options,
    TimeProvider time,
    ILogger<AnswerJudge> logger) : BackgroundService
{
    /// <summary>Answers waiting for the judge at most; more are not judged.</summary>
    public const int QueueCapacity = 100;

    /// <summary>A judge's call gets this long, through failover.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly Channel<JudgeJob> _jobs = Channel.CreateBounded<JudgeJob>(new BoundedChannelOptions(QueueCapacity)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    /// <summary>Offers an answer to the judge, which takes the sampled share; <paramref name="job"/> is made only for those.</summary>
    public void Offer(Func<JudgeJob> job)
    {
        var rate = options.CurrentValue.JudgeSampleRate;
        if (rate <= 0 || Random.Shared.NextDouble() >= rate)
        {
            return;
        }

        if (!_jobs.Writer.TryWrite(job()))
        {
            metrics.RecordJudge("dropped", 0);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var job in _jobs.Reader.ReadAllAsync(stoppingToken))
        {
            await JudgeAsync(job, stoppingToken);
        }
    }

    /// <summary>Judges one answer in an experiment and counts its score for the variant; null when the judge gave none.</summary>
    public async Task<double?> JudgeAsync(JudgeJob job, CancellationToken cancellationToken)
    {
        var (score, _) = await ScoreAsync(job, cancellationToken);
        if (score is { } value && job.ExperimentId.Length > 0)
        {
            reporter.RecordJudge(job.ExperimentId, job.VariantId, value);
        }

        return score;
    }

    /// <summary>The judge's score of an answer in [0, 1] (null when it gave none) and what the judge's call cost.</summary>
    public async Task<(double? Score, decimal CostUsd)> ScoreAsync(JudgeJob job, CancellationToken cancellationToken)
    {
        var prompt = CareerPathJudge.Prompt(job.UserProfile, job.JobMarketData, job.Answer);
        var context = new GatewayCallContext
        {
            RequestId = $"{job.RequestId}.judge",
            Month = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture),
            Deadline = time.GetUtcNow() + Deadline,
            DeadlineDuration = Deadline,
            InputTokens = tokens.Count(CareerPathJudge.Rubric) + tokens.Count(prompt),
            ProviderOrder = [job.Provider, .. ProviderNames.All.Where(p => p != job.Provider)],
            Settings = job.Settings,
            IsJudge = true,
        };
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(Deadline);
            var result = await new CareerPathJudge().EvaluateAsync(
                [new ChatMessage(ChatRole.User, job.UserProfile)],
                new ChatResponse(new ChatMessage(ChatRole.Assistant, job.Answer)),
                new ChatConfiguration(new WithContext(gateway, context)),
                [new JobMarketContext(job.JobMarketData)],
                deadline.Token);
            var score = result.Get<NumericMetric>(CareerPathJudge.MetricName).Value;
            metrics.RecordJudge(score is null ? "unreadable" : "scored", (double)Cost(context));
            return (score, Cost(context));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.RecordJudge("failed", (double)Cost(context));
            LogJudgeFailed(ex, job.RequestId);
            return (null, Cost(context));
        }
    }

    private static decimal Cost(GatewayCallContext context) => context.Attempts.Sum(a => a.CostUsd);

    /// <summary>Hands the judge's calls to the gateway pipeline with their request context.</summary>
    private sealed class WithContext(IChatClient inner, GatewayCallContext context) : DelegatingChatClient(inner)
    {
        public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            base.GetResponseAsync(messages, context.Attach(options ?? new ChatOptions()), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Judging the answer to {RequestId} failed")]
    private partial void LogJudgeFailed(Exception exception, string requestId);
}
