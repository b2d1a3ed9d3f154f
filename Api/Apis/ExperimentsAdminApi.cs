using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Navigator.Api.Auth;
using Navigator.Api.Experiments;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
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

public sealed record PromoteRequest(string? VariantId, string? Reason);

public sealed record PromoteResponse(string Outcome, string Message, string? ActiveVersion, ExperimentDefinitionView? Experiment);

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
        group.MapGet("/{id}/results", ResultsAsync)
            .WithSummary("Per variant: n, means and 95% CIs, tests against control, guardrail breaches, the sample-ratio check and a verdict.");
        group.MapPatch("/{id}", UpdateAsync).WithSummary("Raises coverage, re-weights, or changes the decision settings; assigned users never move.");
        group.MapPost("/{id}/promote", PromoteAsync)
            .WithSummary("Publishes and activates a feature version made of a variant's versions (audited, rollback-able), then stops the experiment.");
        group.MapPost("/{id}/{action:regex(^(start|pause|stop)$)}", TransitionAsync).WithSummary("start (a draft or paused experiment), pause, or stop (final).");
        return app;
    }

    public static async Task<Ok<IReadOnlyList<ExperimentSummary>>> ListAsync(IGrainFactory grains) =>
        TypedResults.Ok(await grains.GetGrain<IExperimentCatalogGrain>(IExperimentCatalogGrain.Key).ListAsync());

    public static async Task<Results<Ok<ExperimentDetails>, ProblemHttpResult>> GetAsync(string id, IGrainFactory grains) =>
        await grains.GetGrain<IExperimentGrain>(id).GetAsync() is { } view
            ? TypedResults.Ok(new ExperimentDetails(ExperimentDefinitionView.Of(view.Definition), view.Audit))
            : TypedResults.Problem($"No experiment has the id '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Not found", type: Problems.NotFound);

    public static async Task<Results<Ok<ExperimentResultsView>, ProblemHttpResult>> ResultsAsync(string id, IGrainFactory grains, ExperimentReporter reporter)
    {
        // This replica's last counts first, so the results include what it served up to now.
        await reporter.FlushAsync(CancellationToken.None);
        return await grains.GetGrain<IExperimentGrain>(id).GetTalliesAsync() is { } tallies
            ? TypedResults.Ok(ExperimentStatistics.Analyze(tallies.Definition, tallies.Variants))
            : TypedResults.Problem($"No experiment has the id '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Not found", type: Problems.NotFound);
    }

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

    /// <summary>
    /// The winner becomes the feature's active version: a copy of the version its requests used (its pinned
    /// feature version, or the active one) with its pinned prompts and model, published under the next free
    /// patch version through <see cref="IPromptConfigGrain"/> (validated and audited like any publication, and
    /// undone by a rollback), and the experiment stops.
    /// </summary>
    public static async Task<IResult> PromoteAsync(string id, PromoteRequest? body, HttpContext http, IGrainFactory grains)
    {
        if (string.IsNullOrWhiteSpace(body?.VariantId) || string.IsNullOrWhiteSpace(body.Reason))
        {
            return Problems.Invalid("'variantId' and 'reason' are required: the audit log records which variant won and why.");
        }

        if (body.Reason.Length > FeaturesAdminApi.MaxReasonLength)
        {
            return Problems.Invalid($"'reason' is longer than {FeaturesAdminApi.MaxReasonLength} characters.");
        }

        var experiment = grains.GetGrain<IExperimentGrain>(id);
        if (await experiment.GetDefinitionAsync() is not { } definition)
        {
            return TypedResults.Problem($"No experiment has the id '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Not found", type: Problems.NotFound);
        }

        if (definition.Variants.FirstOrDefault(v => v.Id == body.VariantId) is not { } winner)
        {
            return ToHttp(new ExperimentResult(ExperimentOutcome.Invalid, "The variant is not part of the experiment; nothing changed.",
                [new ValidationError("/variantId", $"Experiment {id} has no variant '{body.VariantId}'.")], definition));
        }

        if (definition.Status is not (ExperimentDefinition.Running or ExperimentDefinition.Paused))
        {
            return ToHttp(new ExperimentResult(ExperimentOutcome.Conflict, $"Experiment {id} is {definition.Status}: only a running or paused experiment is promoted.", [], definition));
        }

        var config = grains.GetGrain<IPromptConfigGrain>(definition.Feature!);
        var reason = $"experiment {id}: {winner.Id} promoted. {body.Reason}";
        reason = reason[..Math.Min(reason.Length, FeaturesAdminApi.MaxReasonLength)];
        string? activeVersion = null;
        if (winner.PinsVersions || winner.Model is not null)
        {
            var overview = await config.GetOverviewAsync();
            var baseVersion = winner.FeatureVersion ?? overview.ActiveVersion;
            var source = overview.Versions.FirstOrDefault(v => v.Version == baseVersion);
            if (source is null)
            {
                return ToHttp(new ExperimentResult(ExperimentOutcome.Invalid, "The winner's feature version is not published.",
                    [new ValidationError("/variantId", $"Feature version {baseVersion} of {definition.Feature} is not published.")], definition));
            }

            var version = NextPatch(overview.Versions.Select(v => v.Version));
            var document = JsonNode.Parse(source.Document)!.AsObject();
            document["version"] = version;
            document["changelog"] = $"Promoted from experiment {id}, variant {winner.Id} (based on {source.Version}).";
            document["prompts"]!["system"] = winner.SystemPromptVersion ?? source.SystemPromptVersion;
            document["prompts"]!["user"] = winner.UserPromptVersion ?? source.UserPromptVersion;
            document.Remove("experiment");
            if (winner is { Provider: { } provider, Model: { } model } && document["providers"]?[provider] is JsonObject settings)
            {
                settings["model"] = model;
            }

            var published = await config.PublishFeatureAsync(document.ToJsonString(), activate: true, Actor(http), reason);
            if (!published.Succeeded)
            {
                return FeaturesAdminApi.ToHttp(published);
            }

            activeVersion = published.ActiveVersion;
        }

        var stopped = await experiment.TransitionAsync("stop", Actor(http), activeVersion is null
            ? $"{winner.Id} promoted; it pins nothing, so the active version stays. {body.Reason}"
            : $"{winner.Id} promoted as version {activeVersion}. {body.Reason}");
        return stopped.Succeeded
            ? TypedResults.Ok(new PromoteResponse("applied", stopped.Message, activeVersion, ExperimentDefinitionView.Of(stopped.Definition!)))
            : ToHttp(stopped);
    }

    /// <summary>The next patch version above every published one (1.2.3 and 1.10.0 published: 1.10.1).</summary>
    internal static string NextPatch(IEnumerable<string> versions)
    {
        var highest = versions.Select(v => Version.TryParse(v, out var parsed) ? parsed : null).Where(v => v is not null).Max() ?? new Version(1, 0, 0);
        return $"{highest.Major}.{highest.Minor}.{Math.Max(0, highest.Build) + 1}";
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
            ExperimentOutcome.Invalid => Problems.ValidationFailed(result.Message, result.Errors),
            ExperimentOutcome.Conflict => TypedResults.Problem(result.Message, statusCode: StatusCodes.Status409Conflict, title: "Conflict", type: Problems.Conflict),
            ExperimentOutcome.NotFound => TypedResults.Problem(result.Message, statusCode: StatusCodes.Status404NotFound, title: "Not found", type: Problems.NotFound),
            _ => throw new ArgumentOutOfRangeException(nameof(result), result.Outcome, "Unknown outcome."),
        };
    }
}
