using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;

namespace Navigator.Api.Experiments;

/// <summary>The job-market data the answer should be grounded in, for <see cref="CareerPathJudge"/>.</summary>
public sealed class JobMarketContext(string jobMarketData) : EvaluationContext("Job-market data", jobMarketData)
{
    public string JobMarketData { get; } = jobMarketData;
}

/// <summary>
/// LLM-as-judge for a career-path answer, as a Microsoft.Extensions.AI.Evaluation <see cref="IEvaluator"/>: the
/// judge model (the <see cref="ChatConfiguration"/>'s client) scores the answer from 1 to 5 for relevance to the
/// profile, salary ranges grounded in the job-market data, and concrete next steps. The metric is that score
/// scaled to [0, 1]; a reply that is not the JSON asked for gives a metric without a value.
/// </summary>
public sealed class CareerPathJudge : IEvaluator
{
    public const string MetricName = "Career path judge";

    /// <summary>The judge's request starts with this line, so simulated and fake providers know to answer as a judge.</summary>
    public const string Marker = "Grade this career-path answer.";

    public const string Rubric =
        "You grade career-path recommendations. Score the answer from 1 (useless) to 5 (excellent) for: relevance to the " +
        "user's profile, salary ranges taken from the job-market data given (not invented), and concrete next steps. " +
        "Reply with JSON only: {\"score\": <1-5>, \"reason\": \"<one sentence>\"}.";

    public IReadOnlyCollection<string> EvaluationMetricNames { get; } = [MetricName];

    public async ValueTask<EvaluationResult> EvaluateAsync(
        IEnumerable<ChatMessage> messages,
        ChatResponse modelResponse,
        ChatConfiguration? chatConfiguration = null,
        IEnumerable<EvaluationContext>? additionalContext = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chatConfiguration);
        var profile = messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var market = additionalContext?.OfType<JobMarketContext>().FirstOrDefault()?.JobMarketData ?? "";
        var reply = await chatConfiguration.ChatClient.GetResponseAsync(
            [new ChatMessage(ChatRole.System, Rubric), new ChatMessage(ChatRole.User, Prompt(profile, market, modelResponse.Text))],
            new ChatOptions { Temperature = 0, ResponseFormat = ChatResponseFormat.Json },
            cancellationToken);
        return new EvaluationResult(Read(reply.Text));
    }

    public static string Prompt(string profile, string market, string answer) =>
        $"{Marker}\n\nProfile:\n{profile}\n\nJob-market data:\n{market}\n\nAnswer:\n{answer}";

    /// <summary>The judge's reply as a metric: score 1–5 scaled to [0, 1], with its reason.</summary>
    public static NumericMetric Read(string reply)
    {
        try
        {
            using var json = JsonDocument.Parse(reply);
            if (json.RootElement.TryGetProperty("score", out var score) && score.TryGetDouble(out var value) && value is >= 1 and <= 5)
            {
                var reason = json.RootElement.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                return new NumericMetric(MetricName, (value - 1) / 4, reason);
            }
        }
        catch (JsonException)
        {
            // not JSON: no value
        }

        return new NumericMetric(MetricName, null, $"The judge did not answer with a score from 1 to 5: {reply[..Math.Min(reply.Length, 200)]}");
    }
}
