using Microsoft.Extensions.Compliance.Redaction;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Navigator.Api.Auth;
using Navigator.Api.Experiments;
using Navigator.Api.Hosting;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;

namespace Navigator.Api.Apis;

public static partial class CareerPathsApi
{
    // A key given twice is refused, not resolved to its last value: the two may have been meant differently.
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { AllowDuplicateProperties = false };

    public const int MaxUserIdLength = 128;

    /// <summary>The career-path endpoint's path: it reads and checks its own body (size, UTF-8, JSON).</summary>
    public const string Path = "/v1/career-paths";
    public const int MaxTextLength = Grains.PromptConfig.PromptLimits.MaxInputLength;

    /// <summary>The status recorded (never sent) when the client hung up before the answer, as nginx does.</summary>
    public const int StatusCodeClientClosed = 499;

    public static IEndpointRouteBuilder MapCareerPathsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").RequireAuthorization(AuthExtensions.ClientPolicy).RequireRateLimiting(ClientRateLimiting.Policy)
            .WithTags("Career paths");
        group.MapPost("/career-paths", CreateAsync)
            .WithName("CreateCareerPaths")
            .WithSummary("Career-path recommendations for a user's profile and job-market data.")
            .Accepts<CareerPathRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable) // no provider, or the cluster unreachable
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);
        group.MapPost("/career-paths/{requestId}/feedback", FeedbackApi.RateAsync)
            .WithName("RateCareerPaths")
            .WithSummary("A thumbs-up or -down on an answer, by its requestId: the last rating counts, once.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    public static async Task<Results<Ok<CareerPathResponse>, ProblemHttpResult>> CreateAsync(
        HttpContext http,
        CareerPathPipeline pipeline,
        TelemetryLog telemetryLog,
        GatewayMetrics metrics,
        ExperimentReporter experiments,
        StatsReporter stats,
        UserPseudonyms pseudonyms,
        IRedactorProvider redactors,
        RequestIds ids,
        AnswerJudge judge,
        IOptionsMonitor<RequestOptions> options,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        var started = time.GetTimestamp();
        var timestamp = time.GetUtcNow();
        // The id the logs show while the request runs; the response, its header and the telemetry line carry
        // the signed id (with the experiment and variant), which feedback names.
        var requestId = ids.New();
        http.Response.Headers["X-Request-Id"] = requestId;
        Results<Ok<CareerPathResponse>, ProblemHttpResult> result;
        Ending end;
        try
        {
            (result, end) = await HandleAsync(http, pipeline, ids, judge, options.CurrentValue, requestId, timestamp, started, time, loggers.CreateLogger(typeof(CareerPathsApi)));
        }
        catch (Exception ex)
        {
            // Reading the body failed (the client went away mid-upload, say): still one line for the request.
            Record(new Ending(null, StatusCodes.Status500InternalServerError, RequestOutcome.Error, ex.Message, (long)time.GetElapsedTime(started).TotalMilliseconds, null));
            throw;
        }

        Record(end);
        return result;

        // The one place the request's line is made: the response's meta.latencyMs is the same number.
        void Record(Ending e)
        {
            var error = e.Error is null ? null : redactors.TextRedactor().Redact(e.Error);
            var telemetry = RequestTelemetry.Of(timestamp, e.RequestId ?? requestId, http.User.Identity?.Name, pseudonyms.Of(e.UserId), e.Status, e.Result, error, e.LatencyMs, e.Outcome);
            telemetryLog.Write(telemetry);
            metrics.RecordRequest(telemetry);
            experiments.Record(telemetry, e.Quality);
            stats.Record(telemetry);
        }
    }

    /// <summary>How a request ended, for its telemetry line.</summary>
    private sealed record Ending(
        string? UserId, int Status, RequestOutcome Result, string? Error, long LatencyMs, CareerPathOutcome? Outcome, string? RequestId = null, double? Quality = null);

    private static async Task<(Results<Ok<CareerPathResponse>, ProblemHttpResult> Result, Ending End)> HandleAsync(
        HttpContext http, CareerPathPipeline pipeline, RequestIds ids, AnswerJudge judge, RequestOptions options, string requestId, DateTimeOffset timestamp, long started,
        TimeProvider time, ILogger logger)
    {
        var (request, problem) = await ReadRequestAsync(http.Request, options.MaxBodyBytes);
        if (problem is not null)
        {
            var invalid = problem.StatusCode == StatusCodes.Status413PayloadTooLarge ? RequestOutcome.TooLarge : RequestOutcome.Invalid;
            return (problem, new Ending(null, problem.StatusCode, invalid, problem.ProblemDetails.Detail, Elapsed(), null));
        }

        try
        {
            // Not the request's abort token: a client that hangs up does not stop the provider call, so its
            // real cost is still settled and recorded. Only the request deadline cancels it.
            var outcome = await pipeline.ExecuteAsync(request!, requestId, timestamp, CancellationToken.None, CacheDirectiveOf(http.Request));
            var latency = Elapsed();
            var (status, result) = http.RequestAborted.IsCancellationRequested
                ? (StatusCodeClientClosed, RequestOutcome.ClientClosed)
                : (StatusCodes.Status200OK, RequestOutcome.Success);
            var signed = Signed(outcome);
            // Scored only where it feeds an experiment's results; a sampled share of fresh answers also goes to the LLM judge.
            double? quality = null;
            if (outcome.Admission is { Assignment: { VariantId: { } variant } assignment } admission)
            {
                quality = QualityScorer.Score(outcome.Recommendations!, admission.Snapshot.Settings.RecommendationCount, request!.UserProfile!, request.JobMarketData!).Score;
                // The judge scores answers a provider wrote, not the same cached answer again on every hit.
                if (outcome.Cached is null)
                {
                    judge.Offer(() => new JudgeJob(signed, assignment.ExperimentId, variant, outcome.Provider!, admission.Snapshot.Settings,
                        request.UserProfile!, request.JobMarketData!, JsonSerializer.Serialize(new { recommendations = outcome.Recommendations }, JsonOptions)));
                }
            }

            return (TypedResults.Ok(outcome.ToResponse(signed, latency)), new Ending(request!.UserId, status, result, null, latency, outcome, signed, quality));
        }
        catch (CareerPathFailedException failed)
        {
            var (result, status, type, title, detail) = Describe(http, failed.InnerException!, timestamp);
            if (result == RequestOutcome.Error)
            {
                LogPipelineFailure(logger, failed.InnerException!, requestId);
            }

            var signed = Signed(failed.Outcome);
            var ending = new Ending(request!.UserId, status, result, detail, Elapsed(), failed.Outcome, signed);
            return (TypedResults.Problem(detail, statusCode: status, title: title, type: type,
                extensions: new Dictionary<string, object?> { ["requestId"] = signed }), ending);
        }

        long Elapsed() => (long)time.GetElapsedTime(started).TotalMilliseconds;

        string Signed(CareerPathOutcome? outcome)
        {
            var signed = ids.Sign(requestId, outcome?.Admission?.Assignment);
            http.Response.Headers["X-Request-Id"] = signed;
            return signed;
        }
    }

    /// <summary><c>Cache-Control: no-store</c> neither reads nor writes the cache; <c>no-cache</c> skips the lookup and refreshes the entry.</summary>
    internal static CacheDirective CacheDirectiveOf(HttpRequest request) => request.GetTypedHeaders().CacheControl switch
    {
        { NoStore: true } => CacheDirective.NoStore,
        { NoCache: true } => CacheDirective.NoCache,
        _ => CacheDirective.Default,
    };

    /// <summary>The problem a failure becomes, with Retry-After where the client can come back.</summary>
    private static (RequestOutcome Result, int Status, string Type, string Title, string Detail) Describe(HttpContext http, Exception failure, DateTimeOffset timestamp)
    {
        switch (failure)
        {
            case BudgetExhaustedException { DailyCap: true } ex:
                Problems.SetRetryAfter(http, Problems.UntilNextUtcDay(timestamp));
                return (RequestOutcome.DailyBudgetExhausted, StatusCodes.Status429TooManyRequests, Problems.DailyBudgetExhausted, "Daily budget share exhausted", ex.Message);
            case BudgetExhaustedException ex:
                Problems.SetRetryAfter(http, Problems.UntilNextUtcMonth(timestamp));
                return (RequestOutcome.BudgetExhausted, StatusCodes.Status429TooManyRequests, Problems.BudgetExhausted, "Monthly budget exhausted", ex.Message);
            case UserQuotaExceededException ex:
                Problems.SetRetryAfter(http, Problems.UntilNextUtcDay(timestamp));
                return (RequestOutcome.UserQuota, StatusCodes.Status429TooManyRequests, Problems.UserQuotaExceeded, "Daily user quota exceeded", ex.Message);
            case NoProviderAvailableException ex:
                Problems.SetRetryAfter(http, ex.RetryAfter);
                return (RequestOutcome.NoProvider, StatusCodes.Status503ServiceUnavailable, Problems.NoProvider, "No provider available",
                    $"{ex.Message} Attempts: {string.Join(", ", ex.Attempts.Select(a => $"{a.Provider}={a.Outcome.Label()}"))}.");
            case DeadlineExceededException ex:
                return (RequestOutcome.Deadline, StatusCodes.Status504GatewayTimeout, Problems.Deadline, "Deadline exceeded", ex.Message);
            case var ex when Problems.IsClusterUnavailable(ex):
                Problems.SetRetryAfter(http, Problems.ClusterRetryAfter);
                return (RequestOutcome.ClusterUnavailable, StatusCodes.Status503ServiceUnavailable, Problems.ClusterUnavailable, "Cluster unavailable",
                    "The gateway's cluster or its storage did not answer in time; nothing was charged. Retry after the time in Retry-After.");
            default:
                return (RequestOutcome.Error, StatusCodes.Status500InternalServerError, Problems.Internal, "Internal error",
                    "The gateway failed unexpectedly; the request id identifies it in the logs.");
        }
    }

    internal static async Task<(CareerPathRequest? Request, ProblemHttpResult? Problem)> ReadRequestAsync(HttpRequest request, int maxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        // Read at most maxBytes + 1, so a body without Content-Length cannot get past the limit either.
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > maxBytes)
            {
                return (null, TooLarge(maxBytes));
            }
        }

        if (buffer.Length == 0)
        {
            return (null, Invalid("The request body is empty; send a JSON object."));
        }

        if (!System.Text.Unicode.Utf8.IsValid(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
        {
            // The whole body: the JSON reader checks only the strings it decodes. (No second parse for duplicate keys here,
            // on the request path: the serializer refuses a mapped key given twice, and an unmapped one is never read.)
            return (null, Invalid("The body is not valid UTF-8."));
        }

        CareerPathRequest? body;
        try
        {
            body = JsonSerializer.Deserialize<CareerPathRequest>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), JsonOptions);
        }
        catch (JsonException ex)
        {
            return (null, Invalid($"The request body is not valid JSON for this endpoint: {ex.Message}"));
        }

        if (body is null)
        {
            return (null, Invalid("The request body must be a JSON object."));
        }

        var errors = Validate(body);
        return errors.Count == 0
            ? (body, null)
            : (null, TypedResults.Problem(new HttpValidationProblemDetails(errors)
            {
                Status = StatusCodes.Status400BadRequest,
                Type = Problems.Validation,
                Title = "The request is not valid",
                Detail = "See 'errors' for each field.",
            }));
    }

    internal static Dictionary<string, string[]> Validate(CareerPathRequest body)
    {
        var errors = new Dictionary<string, string[]>();
        Require("userId", body.UserId, MaxUserIdLength);
        Require("userProfile", body.UserProfile, MaxTextLength);
        Require("jobMarketData", body.JobMarketData, MaxTextLength);
        if (body.Provider is not null && !ProviderNames.IsKnown(body.Provider))
        {
            errors["provider"] = [$"Must be one of: {string.Join(", ", ProviderNames.All)}."];
        }

        return errors;

        void Require(string name, string? value, int maxLength)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                errors[name] = ["Required."];
            }
            else if (value.Length > maxLength)
            {
                errors[name] = [$"At most {maxLength} characters."];
            }
            else if (!IsPlainText(value))
            {
                errors[name] = ["Contains a control character (such as NUL) or an unpaired surrogate: send plain text."];
            }
        }
    }

    /// <summary>Text a prompt may carry: no control characters but tab and line breaks, and no unpaired UTF-16 surrogate.</summary>
    internal static bool IsPlainText(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c) && c is not ('\t' or '\n' or '\r'))
            {
                return false;
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    private static ProblemHttpResult Invalid(string detail) => Problems.Invalid(detail);

    private static ProblemHttpResult TooLarge(int maxBytes) =>
        TypedResults.Problem($"The request body is larger than {maxBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "Request body too large", type: Problems.TooLarge);

    [LoggerMessage(Level = LogLevel.Error, Message = "Request {RequestId} failed unexpectedly")]
    private static partial void LogPipelineFailure(ILogger logger, Exception exception, string requestId);
}
