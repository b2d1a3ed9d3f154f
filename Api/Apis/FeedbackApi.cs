using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Navigator.Api.Experiments;
using Navigator.Api.Options;
using Navigator.Api.Telemetry;
using Navigator.Grains.Experiments;

namespace Navigator.Api.Apis;

public sealed record FeedbackRequest(string? Rating, string? Comment);

public sealed record FeedbackResponse(
    string RequestId,
    string Rating,
    [property: JsonPropertyName("outcome")] string Outcome,
    string? ExperimentId,
    string? VariantId);

/// <summary>
/// <c>POST /v1/career-paths/{requestId}/feedback</c>: a thumbs-up or -down on an answer. The request id is
/// self-describing and signed (<see cref="RequestIds"/>), so the gateway keeps no record of each request;
/// the rating shards (<see cref="IFeedbackGrain"/>) remember each request's last rating until its window
/// closes, so a repeat counts once and a change moves the count.
/// </summary>
public static partial class FeedbackApi
{
    public static async Task<Results<Ok<FeedbackResponse>, ProblemHttpResult>> RateAsync(
        string requestId,
        FeedbackRequest? body,
        RequestIds ids,
        IGrainFactory grains,
        GatewayMetrics metrics,
        IOptionsMonitor<ExperimentOptions> options,
        TimeProvider time,
        ILoggerFactory loggers,
        Microsoft.Extensions.Compliance.Redaction.IRedactorProvider redactors)
    {
        if (body?.Rating is not ("up" or "down"))
        {
            return Invalid("rating", "'rating' is \"up\" or \"down\".");
        }

        if (body.Comment?.Length > ExperimentOptions.MaxCommentLength)
        {
            return Invalid("comment", $"'comment' is longer than {ExperimentOptions.MaxCommentLength} characters.");
        }

        if (!ids.TryRead(requestId, out var parts))
        {
            return TypedResults.Problem($"No answer has the request id '{requestId}'.", statusCode: StatusCodes.Status404NotFound, title: "Not found", type: Problems.NotFound);
        }

        var window = TimeSpan.FromDays(options.CurrentValue.FeedbackWindowDays);
        if (time.GetUtcNow() - parts.At > window)
        {
            return TypedResults.Problem(
                $"Request {parts.RequestId} was answered at {parts.At:u}; feedback is taken for {options.CurrentValue.FeedbackWindowDays} days after an answer.",
                statusCode: StatusCodes.Status409Conflict, title: "The feedback window has closed", type: Problems.FeedbackWindowClosed);
        }

        var up = body.Rating == "up";
        var outcome = await grains.GetGrain<IFeedbackGrain>(IFeedbackGrain.ShardOf(parts.RequestId))
            .RateAsync(new FeedbackRating(parts.RequestId, parts.ExperimentId, parts.VariantId, up, parts.At + window));
        if (outcome != FeedbackOutcome.Unchanged)
        {
            metrics.RecordFeedback(body.Rating, changed: outcome == FeedbackOutcome.Changed);
        }

        if (!string.IsNullOrWhiteSpace(body.Comment))
        {
            LogComment(loggers.CreateLogger(typeof(FeedbackApi)), redactors, parts.RequestId, body.Rating, body.Comment);
        }

        return TypedResults.Ok(new FeedbackResponse(requestId, body.Rating, outcome.ToString().ToLowerInvariant(), parts.ExperimentId, parts.VariantId));
    }

    private static ProblemHttpResult Invalid(string field, string message) => TypedResults.Problem(
        message, statusCode: StatusCodes.Status400BadRequest, title: "The request is not valid", type: Problems.Validation,
        extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [message] } });

    // Comments are kept in the logs, not in grain state, so ratings stay small; emails and phone numbers in them are redacted.
    [LoggerMessage(Level = LogLevel.Information, Message = "Feedback {Rating} on {RequestId}: {Comment}")]
    private static partial void LogCommentText(ILogger logger, string requestId, string rating, string comment);

    /// <summary>
    /// Logs a comment with its emails and phone numbers redacted. Redacted here, at the one log call that carries
    /// user text, rather than by the logging pipeline's redaction: that replaces every logger and taxes every log
    /// call on the request path, for one message.
    /// </summary>
    internal static void LogComment(ILogger logger, Microsoft.Extensions.Compliance.Redaction.IRedactorProvider redactors, string requestId, string rating, string comment) =>
        LogCommentText(logger, requestId, rating, redactors.TextRedactor().Redact(comment));
}
