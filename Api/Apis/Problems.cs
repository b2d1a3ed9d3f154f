using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Navigator.Api.Apis;

/// <summary>RFC 9457 problem types the API returns. The type URIs are stable; clients may switch on them.</summary>
public static class Problems
{
    public const string Validation = "/problems/validation";
    public const string TooLarge = "/problems/body-too-large";
    public const string BudgetExhausted = "/problems/budget-exhausted";
    public const string DailyBudgetExhausted = "/problems/daily-budget-exhausted";
    public const string UserQuotaExceeded = "/problems/user-quota-exceeded";
    public const string RateLimited = "/problems/rate-limited";
    public const string NoProvider = "/problems/no-provider";
    public const string Deadline = "/problems/deadline-exceeded";
    public const string Conflict = "/problems/conflict";
    public const string FeedbackWindowClosed = "/problems/feedback-window-closed";
    public const string NotFound = "/problems/not-found";
    public const string Internal = "/problems/internal";
    public const string ClusterUnavailable = "/problems/cluster-unavailable";

    /// <summary>How long a client should wait when the cluster cannot be reached: about a silo's restart.</summary>
    public static readonly TimeSpan ClusterRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The Orleans cluster could not be reached or did not answer in time: the silos are restarting, or the
    /// client is still connecting. Never a provider's failure, and never the request's fault.
    /// </summary>
    /// <remarks>
    /// Before the client has connected once, it has no cluster manifest, and a grain reference cannot be made:
    /// Orleans throws an <see cref="ArgumentException"/> ("Could not find an implementation for interface").
    /// </remarks>
    public static bool IsClusterUnavailable(Exception ex) => ex is OrleansException or TimeoutException
        || (ex is ArgumentException or InvalidOperationException && ex.Source?.StartsWith("Orleans", StringComparison.Ordinal) == true);

    /// <summary>422: what was sent is well formed but not valid; <c>errors</c> names each field with a JSON pointer.</summary>
    public static ProblemHttpResult ValidationFailed(string? detail, IEnumerable<Grains.PromptConfig.ValidationError> errors) => TypedResults.Problem(
        detail, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Validation failed", type: Validation,
        extensions: new Dictionary<string, object?> { ["errors"] = errors.Select(e => new { pointer = e.Pointer, message = e.Message }).ToList() });

    public static ProblemHttpResult Invalid(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "The request is not valid", type: Validation);

    public static TimeSpan UntilNextUtcDay(DateTimeOffset now) => now.UtcDateTime.Date.AddDays(1) - now.UtcDateTime;

    public static TimeSpan UntilNextUtcMonth(DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        return new DateTime(utc.Year, utc.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1) - utc;
    }

    public static void SetRetryAfter(HttpContext http, TimeSpan retryAfter) =>
        http.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
