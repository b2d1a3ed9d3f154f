using Microsoft.AspNetCore.Diagnostics;
using Navigator.Api.Apis;

namespace Navigator.Api.Hosting;

/// <summary>
/// A body the framework could not bind (not JSON, nested past 64 levels, a key given twice, a lone surrogate,
/// invalid UTF-8, a value of the wrong type) is a 400 <c>/problems/validation</c> that says what was wrong, in every
/// environment, instead of a 500 in Development and a 400 without a body elsewhere.
/// </summary>
public sealed class BadRequestHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        httpContext.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = bad.StatusCode,
                Type = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? Problems.TooLarge : Problems.Validation,
                Title = "The request is not valid",
                // The framework's message names the parameter; the JSON reader's says where and what.
                Detail = bad.InnerException is { } inner ? $"{bad.Message} {inner.Message}" : bad.Message,
            },
        });
    }
}
