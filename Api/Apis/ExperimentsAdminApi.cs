using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Navigator.Api.Auth;
using Navigator.Api.Options;
using Navigator.Grains.Experiments;
using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Apis;

public sealed record ExperimentVariantRequest(
    string? Id, int? Weight, string? Provider = null, string? Model = null,
    string? FeatureVersion = null, string? SystemPromptVersion = null, string? UserPromptVersion = null);

public sealed record CreateExperimentRequest(
    string? Id,
    string? Feature,
    IReadOnlyList<ExperimentVariantRequest>? Variants,
    string? Salt = null,
    string? Description = null,
    double? Coverage = null,
    string? PrimaryMetric = null,
    IReadOnlyDictionary<string, double>? Guardrails = null,
    int? MinimumSamplePerVariant = null,
    bool Start = false);

public sealed record ExperimentActionRequest(string? Reason);

/// <summary>A variant as the admin API shows it: its pins, and the share of all users its buckets hold.</summary>
public sealed record ExperimentVariantView(
    string Id, int Weight, string? Provider, string? Model, string? FeatureVersion, string? SystemPromptVersion, string? UserPromptVersion,
    double Share, IReadOnlyList<BucketRange> Buckets);

public sealed record ExperimentDefinitionView(
    string Id, string? Feature, string Status, string Salt, string? Description, double Coverage, string PrimaryMetric,
    IReadOnlyDictionary<string, double> Guardrails, int MinimumSamplePerVariant, long Revision, IReadOnlyList<ExperimentVariantView> Variants)
{
    public static ExperimentDefinitionView Of(ExperimentDefinition d) => new(
        d.Id, d.Feature, d.Status, d.Salt, d.Description, d.Coverage, d.PrimaryMetric, d.Guardrails, d.MinimumSamplePerVariant, d.Revision,
        [.. d.Variants.Select(v => new ExperimentVariantView(v.Id, v.Weight, v.Provider, v.Model, v.FeatureVersion, v.SystemPromptVersion, v.UserPromptVersion,
            v.Buckets.Sum(r => r.Count) / (double)VariantAssigner.Buckets, v.Buckets))]);
}

public sealed record ExperimentDetails(ExperimentDefinitionView Definition, IReadOnlyList<ExperimentAuditEntry> Audit);

public sealed record ExperimentChangeResponse(string Outcome, string Message, ExperimentDefinitionView? Experiment);

/// <summary>
/// Experiments: create (a draft, or started at once), change coverage and weights, start, pause and stop,
/// read and list. Every change is audited with the admin key's name. A bad definition gets 422 with a JSON
/// pointer per error and changes nothing.
/// </summary>
public static class ExperimentsAdminApi
{
    public static IEndpointRouteBuilder MapExperimentsAdminApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/experiments").RequireAuthorization(AuthExtensions.AdminPolicy).WithTags("Admin: experiments");
        group.MapGet("/", ListAsync).WithSummary("Every experiment's id, feature, status and revision, newest change first.");
        group.MapPost("/", CreateAsync).WithSummary("Creates an experiment (a draft, or started at once with \"start\": true).");
        group.MapGet("/{id}", GetAsync).WithSummary("An experiment's definition, its variants' bucket shares, and its audit log.");
        group.MapPatch("/{id}", UpdateAsync).WithSummary("Raises coverage, re-weights, or changes the decision settings; assigned users never move.");
        group.MapPost("/{id}/{action:regex(^(start|pause|stop)$)}", TransitionAsync).WithSummary("start (a draft or paused experiment), pause, or stop (final).");
        return app;
    }

    public static async Task<Ok<IReadOnlyList<ExperimentSummary>>> ListAsync(IGrainFactory grains) =>
        TypedResults.Ok(await grains.GetGrain<IExperimentCatalogGrain>(IExperimentCatalogGrain.Key).ListAsync());

    public static async Task<Results<Ok<ExperimentDetails>, ProblemHttpResult>> GetAsync(string id, IGrainFactory grains) =>
        await grains.GetGrain<IExperimentGrain>(id).GetAsync() is { } view
            ? TypedResults.Ok(new ExperimentDetails(ExperimentDefinitionView.Of(view.Definition), view.Audit))
            : TypedResults.Problem($"No experiment has the id '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Not found", type: Problems.NotFound);

    public static async Task<IResult> CreateAsync(CreateExperimentRequest? body, HttpContext http, IGrainFactory grains, IOptionsMonitor<ProvidersOptions> providers)
    {
        if (body is null)
        {
            return Problems.Invalid("The body is an experiment definition: { \"id\", \"feature\", \"variants\": [...] }.");
        }

        var variants = (body.Variants ?? []).Select(v => new ExperimentVariant(v?.Id ?? "", v?.Weight ?? -1, v?.Provider)
        {
            Model = v?.Model,
            FeatureVersion = v?.FeatureVersion,
            SystemPromptVersion = v?.SystemPromptVersion,
            UserPromptVersion = v?.UserPromptVersion,
        }).ToList();
        var draft = new ExperimentDefinition(body.Id ?? "", body.Start ? ExperimentDefinition.Running : ExperimentDefinition.Draft, body.Salt ?? body.Id ?? "", variants)
        {
            Feature = body.Feature,
            Description = body.Description,
            Coverage = body.Coverage ?? 1,
            PrimaryMetric = body.PrimaryMetric ?? "thumbs_up_rate",
            Guardrails = body.Guardrails ?? new Dictionary<string, double>(),
            MinimumSamplePerVariant = body.MinimumSamplePerVariant ?? 100,
        };

        // What only the API knows: the providers and the models that have a price. The grain checks the rest.
        var errors = ExperimentRules.Validate(draft);
        errors.AddRange(ProviderErrors(variants, providers.CurrentValue));
        if (errors.Count > 0)
        {
            return ToHttp(new ExperimentResult(ExperimentOutcome.Invalid, "The experiment definition is not valid; nothing changed.", errors, null));
        }

        return ToHttp(await grains.GetGrain<IExperimentGrain>(draft.Id).CreateAsync(draft, Actor(http)), $"/admin/experiments/{draft.Id}");
    }

    public static async Task<IResult> UpdateAsync(string id, ExperimentUpdate? body, HttpContext http, IGrainFactory grains)
    {
        if (body is null)
        {
            return Problems.Invalid("The body names what changes: { \"coverage\"?, \"weights\"?, \"description\"?, \"guardrails\"?, \"minimumSamplePerVariant\"?, \"reason\"? }.");
        }

        if (body.Reason?.Length > FeaturesAdminApi.MaxReasonLength)
        {
            return Problems.Invalid($"'reason' is longer than {FeaturesAdminApi.MaxReasonLength} characters.");
        }

        return ToHttp(await grains.GetGrain<IExperimentGrain>(id).UpdateAsync(body, Actor(http)));
    }

    public static async Task<IResult> TransitionAsync(string id, string action, ExperimentActionRequest? body, HttpContext http, IGrainFactory grains)
    {
        if (body?.Reason?.Length > FeaturesAdminApi.MaxReasonLength)
        {
            return Problems.Invalid($"'reason' is longer than {FeaturesAdminApi.MaxReasonLength} characters.");
        }

        return ToHttp(await grains.GetGrain<IExperimentGrain>(id).TransitionAsync(action, Actor(http), body?.Reason));
    }

    private static IEnumerable<ValidationError> ProviderErrors(IReadOnlyList<ExperimentVariant> variants, ProvidersOptions providers)
    {
        for (var i = 0; i < variants.Count; i++)
        {
            if (variants[i].Provider is not { } provider)
            {
                continue;
            }

            if (!ProviderNames.IsKnown(provider))
            {
                yield return new ValidationError($"/variants/{i}/provider", $"Provider is one of: {string.Join(", ", ProviderNames.All)}.");
            }
            else if (variants[i].Model is { } model && !providers.Get(provider).Models.ContainsKey(model))
            {
                yield return new ValidationError($"/variants/{i}/model", $"Model '{model}' has no price in providers:{provider}:models, so it could not be charged.");
            }
        }
    }

    private static string Actor(HttpContext http) => http.User.Identity?.Name ?? "unknown";

    private static IResult ToHttp(ExperimentResult result, string? created = null)
    {
        var response = new ExperimentChangeResponse(result.Outcome.ToString().ToLowerInvariant(), result.Message,
            result.Definition is { } d ? ExperimentDefinitionView.Of(d) : null);
        return result.Outcome switch
        {
            ExperimentOutcome.Applied when created is not null => TypedResults.Created(created, response),
            ExperimentOutcome.Applied or ExperimentOutcome.Unchanged => TypedResults.Ok(response),
            ExperimentOutcome.Invalid => TypedResults.Problem(
                result.Message, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Validation failed", type: Problems.Validation,
                extensions: new Dictionary<string, object?>
                {
                    ["errors"] = result.Errors.Select(e => new { pointer = e.Pointer, message = e.Message }).ToList(),
                }),
            ExperimentOutcome.Conflict => TypedResults.Problem(result.Message, statusCode: StatusCodes.Status409Conflict, title: "Conflict", type: Problems.Conflict),
            ExperimentOutcome.NotFound => TypedResults.Problem(result.Message, statusCode: StatusCodes.Status404NotFound, title: "Not found", type: Problems.NotFound),
            _ => throw new ArgumentOutOfRangeException(nameof(result), result.Outcome, "Unknown outcome."),
        };
    }
}
