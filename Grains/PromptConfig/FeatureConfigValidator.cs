using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;
using Navigator.Grains.Seed;

namespace Navigator.Grains.PromptConfig;

/// <summary>
/// Validates a feature config document: JSON Schema 2020-12 (config/schema/feature_config_schema.json,
/// via JsonSchema.Net), then the rules a schema cannot express: the feature name, that both prompt
/// versions are published, and that the templates use exactly the variables the feature supplies.
/// </summary>
public sealed partial class FeatureConfigValidator(ISeedSource seed)
{
    // Built schemas are shared: JsonSchema.Net registers a schema by its $id and refuses a second
    // registration, so each schema text is built exactly once per process (Lazy guards the race).
    private static readonly ConcurrentDictionary<string, Lazy<JsonSchema>> Schemas = new(StringComparer.Ordinal);

    private readonly Lazy<JsonSchema> _schema = new(() =>
    {
        var text = seed.LoadSchema() ?? throw new InvalidOperationException("config/schema/feature_config_schema.json is missing.");
        return Schemas.GetOrAdd(text, t => new Lazy<JsonSchema>(() => JsonSchema.FromText(t))).Value;
    });

    [GeneratedRegex(@"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")]
    public static partial Regex PromptVersionPattern();

    public static readonly IReadOnlyList<string> PromptKinds = ["system", "user"];

    /// <summary>The longest prompt template accepted: the feature's prompts and versions share one storage row.</summary>
    public const int MaxPromptLength = 32_000;

    /// <summary>Returns the parsed document, or the errors (each with a JSON pointer) that stop it being published.</summary>
    public (FeatureConfigDocument? Document, IReadOnlyList<ValidationError> Errors) Validate(
        string feature, string json, IReadOnlyDictionary<string, string> prompts)
    {
        JsonDocument parsed;
        try
        {
            // A key given twice is refused rather than read as its last value.
            parsed = JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            return (null, [new ValidationError("", $"Not valid JSON: {ex.Message}")]);
        }

        using (parsed)
        {
            if (UnreadableString(parsed.RootElement) is { } pointer)
            {
                return (null, [new ValidationError(pointer, "Not valid JSON text: a string escapes an unpaired UTF-16 surrogate (such as \\ud800).")]);
            }

            var results = _schema.Value.Evaluate(parsed.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            if (!results.IsValid)
            {
                var errors = (results.Details ?? [])
                    .Where(d => d.Errors is { Count: > 0 })
                    .SelectMany(d => d.Errors!.Select(e => new ValidationError(d.InstanceLocation.ToString(), $"{e.Key}: {e.Value}")))
                    .Distinct()
                    .ToList();
                return (null, errors.Count > 0 ? errors : [new ValidationError("", "The document does not match the feature config schema.")]);
            }
        }

        var document = FeatureConfigDocument.Parse(json);
        var problems = new List<ValidationError>();
        if (document.Feature != feature)
        {
            problems.Add(new ValidationError("/feature", $"The document is for '{document.Feature}', not '{feature}'."));
        }

        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (kind, version) in new[] { ("system", document.Prompts.System), ("user", document.Prompts.User) })
        {
            if (!prompts.TryGetValue(PromptKey.For(kind, version), out var text))
            {
                problems.Add(new ValidationError($"/prompts/{kind}", $"Prompt {kind}/{version} is not published."));
                continue;
            }

            if (TemplateVariables.TryGetVariables(text, out var variables, out var error))
            {
                if (kind == "system" && variables.Count > 0)
                {
                    // Published before the rule below: still never rendered, so its variables would reach the model as written.
                    problems.Add(new ValidationError("/prompts/system", SystemPromptUsesVariables(version, variables)));
                }
                else
                {
                    used.UnionWith(variables);
                }
            }
            else
            {
                problems.Add(new ValidationError($"/prompts/{kind}", $"Prompt {kind}/{version} does not parse: {error}"));
            }
        }

        if (problems.Count == 0)
        {
            var supplied = document.Variables.ToHashSet(StringComparer.Ordinal);
            var missing = used.Except(supplied).Order(StringComparer.Ordinal).ToList();
            var extra = supplied.Except(used).Order(StringComparer.Ordinal).ToList();
            if (missing.Count > 0)
            {
                problems.Add(new ValidationError("/variables", $"The templates use variables the feature does not supply: {string.Join(", ", missing)}."));
            }

            if (extra.Count > 0)
            {
                problems.Add(new ValidationError("/variables", $"The feature supplies variables no template uses: {string.Join(", ", extra)}."));
            }
        }

        return problems.Count == 0 ? (document, []) : (null, problems);
    }

    /// <summary>
    /// The JSON pointer of the first property name or string value that cannot be read as text (JSON allows escaping an
    /// unpaired surrogate; .NET strings refuse it), or null when every string reads.
    /// </summary>
    private static string? UnreadableString(JsonElement element, string pointer = "")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return Readable(() => element.GetString()) ? null : pointer;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (UnreadableString(item, $"{pointer}/{index++}") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return pointer + "/";
                    }

                    if (UnreadableString(property.Value, $"{pointer}/{name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)}") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }

        static bool Readable(Func<string?> read)
        {
            try
            {
                read();
                return true;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }

    /// <summary>Checks a prompt template before it is published.</summary>
    public static IReadOnlyList<ValidationError> ValidatePrompt(string kind, string version, string text)
    {
        var errors = new List<ValidationError>();
        if (!PromptKinds.Contains(kind))
        {
            errors.Add(new ValidationError("/kind", $"Kind must be one of: {string.Join(", ", PromptKinds)}."));
        }

        if (!PromptVersionPattern().IsMatch(version))
        {
            errors.Add(new ValidationError("/version", "Prompt versions look like v2.1."));
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            errors.Add(new ValidationError("/text", "The template is empty."));
        }
        else if (text.Length > MaxPromptLength)
        {
            errors.Add(new ValidationError("/text", $"The template is longer than {MaxPromptLength:N0} characters."));
        }
        else if (!TemplateVariables.TryGetVariables(text, out var variables, out var error))
        {
            errors.Add(new ValidationError("/text", $"Not a valid Liquid template: {error}"));
        }
        else if (kind == "system" && variables.Count > 0)
        {
            errors.Add(new ValidationError("/text", SystemPromptUsesVariables(version, variables)));
        }
        else if (TemplateVariables.TrialRender(text, variables) is { } broken)
        {
            errors.Add(new ValidationError("/text", $"The template is refused: {broken}."));
        }

        return errors;
    }

    /// <summary>The system prompt is sent to the model as written, never rendered: a variable in it would never be filled in.</summary>
    private static string SystemPromptUsesVariables(string version, IEnumerable<string> variables) =>
        $"System prompt {version} uses variables ({string.Join(", ", variables.Order(StringComparer.Ordinal))}), but a system prompt is sent as written, "
        + "not rendered: put per-request text in the user prompt.";
}
