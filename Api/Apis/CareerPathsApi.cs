using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Navigator.Api.Auth;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;

namespace Navigator.Api.Apis;

public static partial class CareerPathsApi
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public const int MaxUserIdLength = 128;
    public const int MaxTextLength = 20_000;

    /// <summary>The status recorded (never sent) when the client hung up before the answer, as nginx does.</summary>
    public const int StatusCodeClientClosed = 499;

    public static IEndpointRouteBuilder MapCareerPathsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").RequireAuthorization(AuthExtensions.ClientPolicy).WithTags("Career paths");
        group.MapPost("/career-paths", CreateAsync)
            .WithName("CreateCareerPaths")
            .WithSummary("Career-path recommendations for a user's profile and job-market data.")
            .Accepts<CareerPathRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);
        return app;
    }

    public static async Task<Results<Ok<CareerPathResponse>, ProblemHttpResult>> CreateAsync(
        HttpContext http,
        CareerPathPipeline pipeline,
        TelemetryLog telemetryLog,
        GatewayMetrics metrics,
        IOptionsMonitor<RequestOptions> options,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        var started = time.GetTimestamp();
        var telemetry = new RequestTelemetry { Timestamp = time.GetUtcNow(), RequestId = $"req_{Guid.CreateVersion7():N}" };
        http.Response.Headers["X-Request-Id"] = telemetry.RequestId;
        Results<Ok<CareerPathResponse>, ProblemHttpResult> result;
        try
        {
            result = await HandleAsync(http, pipeline, options.CurrentValue, telemetry, loggers.CreateLogger(typeof(CareerPathsApi)));
        }
        finally
        {
            telemetry.LatencyMs = (long)time.GetElapsedTime(started).TotalMilliseconds;
            telemetryLog.Write(telemetry);
            metrics.RecordRequest(telemetry);
        }

        return result;
    }

    private static async Task<Results<Ok<CareerPathResponse>, ProblemHttpResult>> HandleAsync(
        HttpContext http, CareerPathPipeline pipeline, RequestOptions options, RequestTelemetry telemetry, ILogger logger)
    {
        var (request, problem) = await ReadRequestAsync(http.Request, options.MaxBodyBytes);
        if (problem is not null)
        {
            telemetry.Status = problem.StatusCode;
            telemetry.Outcome = problem.StatusCode == StatusCodes.Status413PayloadTooLarge ? RequestOutcome.TooLarge : RequestOutcome.Invalid;
            telemetry.Error = problem.ProblemDetails.Detail;
            return problem;
        }

        telemetry.UserId = request!.UserId;
        try
        {
            // Not the request's abort token: a client that hangs up does not stop the provider call, so its
            // real cost is still settled and recorded. Only the request deadline cancels it.
            var response = await pipeline.ExecuteAsync(request, telemetry, CancellationToken.None);
            (telemetry.Status, telemetry.Outcome) = http.RequestAborted.IsCancellationRequested
                ? (StatusCodeClientClosed, RequestOutcome.ClientClosed)
                : (StatusCodes.Status200OK, RequestOutcome.Success);
            return TypedResults.Ok(response);
        }
        catch (BudgetExhaustedException ex) when (ex.DailyCap)
        {
            Problems.SetRetryAfter(http, Problems.UntilNextUtcDay(telemetry.Timestamp));
            return Fail(telemetry, RequestOutcome.DailyBudgetExhausted, StatusCodes.Status429TooManyRequests, Problems.DailyBudgetExhausted, "Daily budget share exhausted", ex.Message);
        }
        catch (BudgetExhaustedException ex)
        {
            Problems.SetRetryAfter(http, Problems.UntilNextUtcMonth(telemetry.Timestamp));
            return Fail(telemetry, RequestOutcome.BudgetExhausted, StatusCodes.Status429TooManyRequests, Problems.BudgetExhausted, "Monthly budget exhausted", ex.Message);
        }
        catch (UserQuotaExceededException ex)
        {
            Problems.SetRetryAfter(http, Problems.UntilNextUtcDay(telemetry.Timestamp));
            return Fail(telemetry, RequestOutcome.UserQuota, StatusCodes.Status429TooManyRequests, Problems.UserQuotaExceeded, "Daily user quota exceeded", ex.Message);
        }
        catch (NoProviderAvailableException ex)
        {
            Problems.SetRetryAfter(http, ex.RetryAfter);
            return Fail(telemetry, RequestOutcome.NoProvider, StatusCodes.Status503ServiceUnavailable, Problems.NoProvider, "No provider available",
                $"{ex.Message} Attempts: {string.Join(", ", ex.Attempts.Select(a => $"{a.Provider}={a.Outcome.Label()}"))}.");
        }
        catch (DeadlineExceededException ex)
        {
            return Fail(telemetry, RequestOutcome.Deadline, StatusCodes.Status504GatewayTimeout, Problems.Deadline, "Deadline exceeded", ex.Message);
        }
        catch (Exception ex)
        {
            LogPipelineFailure(logger, ex, telemetry.RequestId);
            telemetry.Status = StatusCodes.Status500InternalServerError;
            telemetry.Outcome = RequestOutcome.Error;
            telemetry.Error = ex.Message;
            throw;
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
        }
    }

    private static ProblemHttpResult Invalid(string detail) => Problems.Invalid(detail);

    private static ProblemHttpResult TooLarge(int maxBytes) =>
        TypedResults.Problem($"The request body is larger than {maxBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "Request body too large", type: Problems.TooLarge);

    private static ProblemHttpResult Fail(RequestTelemetry telemetry, RequestOutcome outcome, int status, string type, string title, string detail)
    {
        telemetry.Status = status;
        telemetry.Outcome = outcome;
        telemetry.Error = detail;
        return TypedResults.Problem(detail, statusCode: status, title: title, type: type,
            extensions: new Dictionary<string, object?> { ["requestId"] = telemetry.RequestId });
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Request {RequestId} failed unexpectedly")]
    private static partial void LogPipelineFailure(ILogger logger, Exception exception, string requestId);
}
