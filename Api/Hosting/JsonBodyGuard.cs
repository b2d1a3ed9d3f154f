using System.Text.Unicode;
using Navigator.Api.Apis;

namespace Navigator.Api.Hosting;

/// <summary>
/// Every body but the career-path request's (which reads and checks its own, within its 64 KiB limit) is read once
/// before its endpoint: past <see cref="MaxBodyBytes"/> it is a 413, and a body that is not one JSON document in UTF-8,
/// or that gives a key twice, is a 400, even where the endpoint would never read that part (the serializer checks only
/// what it maps). The endpoint then reads the buffered copy.
/// </summary>
public static class JsonBodyGuard
{
    private static readonly System.Text.Json.JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    /// <summary>Why <paramref name="body"/> is not one well-formed JSON document in UTF-8 with each key once, or null when it is.</summary>
    private static string? Check(ReadOnlyMemory<byte> body)
    {
        if (!Utf8.IsValid(body.Span))
        {
            // Checked for the whole body: the JSON reader checks only the strings it decodes, not the ones it skips.
            return "The body is not valid UTF-8.";
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body, Strict);
            return null;
        }
        catch (System.Text.Json.JsonException ex)
        {
            return $"The body is not valid JSON: {ex.Message}";
        }
    }

    /// <summary>The largest admin or feedback body: a feature document, a 32,000-character prompt, an experiment.</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    public static IApplicationBuilder UseJsonBodyGuard(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        var request = http.Request;
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || request.ContentLength == 0
            || request.Path.Equals(CareerPathsApi.Path, StringComparison.Ordinal))
        {
            await next(http);
            return;
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            await WriteAsync(http, StatusCodes.Status413PayloadTooLarge, Problems.TooLarge, $"The body is larger than {MaxBodyBytes:N0} bytes.");
            return;
        }

        request.EnableBuffering(MaxBodyBytes + 1);
        using var copy = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            copy.Write(chunk, 0, read);
            if (copy.Length > MaxBodyBytes)
            {
                await WriteAsync(http, StatusCodes.Status413PayloadTooLarge, Problems.TooLarge, $"The body is larger than {MaxBodyBytes:N0} bytes.");
                return;
            }
        }

        if (Check(copy.GetBuffer().AsMemory(0, (int)copy.Length)) is { } problem)
        {
            await WriteAsync(http, StatusCodes.Status400BadRequest, Problems.Validation, problem);
            return;
        }

        request.Body.Position = 0;
        await next(http);
    });

    private static Task WriteAsync(HttpContext http, int status, string type, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: "The request is not valid", type: type).ExecuteAsync(http);
}
