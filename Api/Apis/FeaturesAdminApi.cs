using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Navigator.Api.Auth;
using Navigator.Api.Options;
using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Apis;

public sealed record ChangeResponse(string Outcome, string? Message, string? ActiveVersion);

public sealed record RollbackRequest(string? ToVersion, string? Reason);

public sealed record ActivateRequest(string? Version, string? Reason);

public sealed record PurgeCacheRequest(string? Reason);

public sealed record PublishPromptRequest(string? Text);

/// <summary>Feature and prompt versioning: publish immutable versions, activate, roll back, read the audit log.</summary>
public static class FeaturesAdminApi
{
    public static IEndpointRouteBuilder MapFeaturesAdminApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/features/{feature}").RequireAuthorization(AuthExtensions.AdminPolicy).WithTags("Admin: features");
        group.MapGet("/", GetAsync).WithSummary("Active version, all versions, labels, prompts, activation history and audit log.");
        group.MapPost("/versions", PublishAsync)
            .Accepts<object>("application/json")
            .WithSummary("Publishes a feature config (the JSON document is the body). ?activate=true&reason=... also activates it.");
        group.MapPost("/prompts/{kind}/{version}", PublishPromptAsync).WithSummary("Publishes a prompt template version: body { \"text\": \"...\" }.");
        group.MapPost("/activate", ActivateAsync).WithSummary("Moves the active label: body { \"version\", \"reason\" }.");
        group.MapPost("/rollback", RollbackAsync).WithSummary("Rolls back to the previous active version, or to toVersion: body { \"toVersion\"?, \"reason\" }.");
        group.MapPost("/cache/purge", PurgeCacheAsync).WithSummary("Makes every cached answer of the feature unreachable on every replica (audited): body { \"reason\" }.");
        return app;
    }

    public static async Task<Results<Ok<FeatureOverview>, ProblemHttpResult>> GetAsync(string feature, IGrainFactory grains)
    {
        var overview = await grains.GetGrain<IPromptConfigGrain>(feature).GetOverviewAsync();
        return overview.Versions.Count == 0
            ? TypedResults.Problem($"Feature '{feature}' has no published versions.", statusCode: StatusCodes.Status404NotFound, title: "Not found")
            : TypedResults.Ok(overview);
    }

    public static async Task<IResult> PublishAsync(
        string feature, HttpContext http, IGrainFactory grains, IOptionsMonitor<RequestOptions> options, bool activate = false, string? reason = null)
    {
        var max = options.CurrentValue.MaxBodyBytes;
        if (http.Request.ContentLength > max)
        {
            return TypedResults.Problem($"The body is larger than {max} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large", type: Problems.TooLarge);
        }

        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var document = await reader.ReadToEndAsync(http.RequestAborted);
        if (Encoding.UTF8.GetByteCount(document) > max)
        {
            return TypedResults.Problem($"The body is larger than {max} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large", type: Problems.TooLarge);
        }

        if (TooLongReason(reason) is { } tooLong)
        {
            return tooLong;
        }

        var result = await grains.GetGrain<IPromptConfigGrain>(feature).PublishFeatureAsync(document, activate, Actor(http), reason);
        return ToHttp(result, created: $"/admin/features/{feature}");
    }

    public static async Task<IResult> PublishPromptAsync(string feature, string kind, string version, PublishPromptRequest? body, HttpContext http, IGrainFactory grains)
    {
        var result = await grains.GetGrain<IPromptConfigGrain>(feature).PublishPromptAsync(kind, version, body?.Text ?? "", Actor(http));
        return ToHttp(result, created: $"/admin/features/{feature}");
    }

    public static async Task<IResult> ActivateAsync(string feature, ActivateRequest? body, HttpContext http, IGrainFactory grains)
    {
        if (string.IsNullOrWhiteSpace(body?.Version) || string.IsNullOrWhiteSpace(body.Reason))
        {
            return Problems.Invalid("Both 'version' and 'reason' are required.");
        }

        if (TooLongReason(body.Reason) is { } tooLong)
        {
            return tooLong;
        }

        return ToHttp(await grains.GetGrain<IPromptConfigGrain>(feature).ActivateAsync(body.Version, Actor(http), body.Reason));
    }

    public static async Task<IResult> RollbackAsync(string feature, RollbackRequest? body, HttpContext http, IGrainFactory grains)
    {
        if (string.IsNullOrWhiteSpace(body?.Reason))
        {
            return Problems.Invalid("'reason' is required: the audit log records why every rollback happened.");
        }

        if (TooLongReason(body.Reason) is { } tooLong)
        {
            return tooLong;
        }

        return ToHttp(await grains.GetGrain<IPromptConfigGrain>(feature).RollbackAsync(
            string.IsNullOrWhiteSpace(body.ToVersion) ? null : body.ToVersion, Actor(http), body.Reason));
    }

    public static async Task<IResult> PurgeCacheAsync(string feature, PurgeCacheRequest? body, HttpContext http, IGrainFactory grains)
    {
        if (string.IsNullOrWhiteSpace(body?.Reason))
        {
            return Problems.Invalid("'reason' is required: the audit log records why every purge happened.");
        }

        if (TooLongReason(body.Reason) is { } tooLong)
        {
            return tooLong;
        }

        return ToHttp(await grains.GetGrain<IPromptConfigGrain>(feature).PurgeCacheAsync(Actor(http), body.Reason));
    }

    /// <summary>Reasons go into the audit log, which shares the feature's one storage row with its versions.</summary>
    public const int MaxReasonLength = 200;

    private static IResult? TooLongReason(string? reason) => reason?.Length > MaxReasonLength
        ? Problems.Invalid($"'reason' is longer than {MaxReasonLength} characters.")
        : null;

    private static string Actor(HttpContext http) => http.User.Identity?.Name ?? "unknown";

    internal static IResult ToHttp(ChangeResult result, string? created = null) => result.Outcome switch
    {
        ChangeOutcome.Applied when created is not null => TypedResults.Created(created, Response(result)),
        ChangeOutcome.Applied or ChangeOutcome.Unchanged => TypedResults.Ok(Response(result)),
        ChangeOutcome.Invalid => Problems.ValidationFailed(result.Message, result.Errors),
        ChangeOutcome.Conflict => TypedResults.Problem(result.Message, statusCode: StatusCodes.Status409Conflict, title: "Conflict", type: Problems.Conflict),
        ChangeOutcome.NotFound => TypedResults.Problem(result.Message, statusCode: StatusCodes.Status404NotFound, title: "Not found", type: Problems.NotFound),
        _ => throw new ArgumentOutOfRangeException(nameof(result), result.Outcome, "Unknown outcome."),
    };

    private static ChangeResponse Response(ChangeResult result) =>
        new(result.Outcome.ToString().ToLowerInvariant(), result.Message, result.ActiveVersion);
}
