using Microsoft.AspNetCore.Diagnostics;
using Navigator.Api.Apis;

namespace Navigator.Api.Hosting;

/// <summary>
/// An admin endpoint's grain call that fails because the cluster cannot be reached becomes a 503 with
/// Retry-After and its own problem type, not a 500. (The career-path endpoint maps it itself, so that its
/// telemetry line records it.)
/// </summary>
public sealed class ClusterUnavailableHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!Problems.IsClusterUnavailable(exception))
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        Problems.SetRetryAfter(httpContext, Problems.ClusterRetryAfter);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Type = Problems.ClusterUnavailable,
                Title = "Cluster unavailable",
                Detail = "The gateway's cluster could not be reached; nothing was changed. Retry after the time in Retry-After.",
            },
        });
    }
}
