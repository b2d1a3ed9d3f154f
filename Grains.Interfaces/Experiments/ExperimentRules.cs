using System.Text.RegularExpressions;
using Navigator.Grains.PromptConfig;

namespace Navigator.Grains.Experiments;

/// <summary>The shape of a good experiment definition; each error names the field with a JSON pointer.</summary>
public static partial class ExperimentRules
{
    public const int MaxVariants = 10;
    public const int MaxWeight = 10_000;
    public const int MaxDescription = 500;

    public static readonly IReadOnlyList<string> PrimaryMetrics = ["thumbs_up_rate", "quality_score", "judge_score", "latency_ms", "cost_usd", "error_rate"];
    public static readonly IReadOnlyList<string> GuardrailMetrics = ["error_rate", "p95_latency_ms", "cost_per_request_usd", "quality_score"];

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,63}$")]
    public static partial Regex IdPattern();

    /// <summary>A salt never holds ':', the separator of the hashed "salt:userId".</summary>
    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex SaltPattern();

    public static List<ValidationError> Validate(ExperimentDefinition definition)
    {
        var errors = new List<ValidationError>();
        if (!IdPattern().IsMatch(definition.Id ?? ""))
        {
            errors.Add(new("/id", "The id is 1-64 characters: a lower-case letter, then lower-case letters, digits, '_' or '-'."));
        }

        if (!SaltPattern().IsMatch(definition.Salt ?? ""))
        {
            errors.Add(new("/salt", "The salt is 1-64 characters of letters, digits, '_', '.' or '-' (no ':')."));
        }

        if (string.IsNullOrEmpty(definition.Feature))
        {
            errors.Add(new("/feature", "The feature is required."));
        }

        if (!(definition.Coverage > 0 && definition.Coverage <= 1))
        {
            errors.Add(new("/coverage", "Coverage is the share of users who enter, greater than 0 and at most 1."));
        }

        if ((definition.Description?.Length ?? 0) > MaxDescription)
        {
            errors.Add(new("/description", $"The description is longer than {MaxDescription} characters."));
        }

        if (!PrimaryMetrics.Contains(definition.PrimaryMetric))
        {
            errors.Add(new("/primaryMetric", $"The primary metric is one of: {string.Join(", ", PrimaryMetrics)}."));
        }

        foreach (var (metric, limit) in definition.Guardrails)
        {
            if (!GuardrailMetrics.Contains(metric))
            {
                errors.Add(new($"/guardrails/{metric}", $"Guardrails are on: {string.Join(", ", GuardrailMetrics)}."));
            }
            else if (!(limit >= 0) || double.IsInfinity(limit))
            {
                errors.Add(new($"/guardrails/{metric}", "A guardrail's limit is a number of at least 0."));
            }
        }

        if (definition.MinimumSamplePerVariant is < 1 or > 1_000_000)
        {
            errors.Add(new("/minimumSamplePerVariant", "The minimum sample per variant is between 1 and 1,000,000."));
        }

        ValidateVariants(definition.Variants, errors);
        return errors;
    }

    /// <summary>New weights: every variant named, each between 0 and <see cref="MaxWeight"/>, adding up to more than 0.</summary>
    public static void ValidateWeights(IReadOnlyList<ExperimentVariant> variants, IReadOnlyDictionary<string, int> weights, List<ValidationError> errors)
    {
        foreach (var id in weights.Keys.Where(id => variants.All(v => v.Id != id)))
        {
            errors.Add(new($"/weights/{id}", $"The experiment has no variant '{id}'."));
        }

        foreach (var (id, weight) in weights.Where(w => w.Value is < 0 or > MaxWeight))
        {
            errors.Add(new($"/weights/{id}", $"A weight is between 0 and {MaxWeight}."));
        }

        if (variants.Sum(v => (long)weights.GetValueOrDefault(v.Id, v.Weight)) <= 0)
        {
            errors.Add(new("/weights", "The weights add up to 0: no variant could get a user."));
        }
    }

    private static void ValidateVariants(IReadOnlyList<ExperimentVariant>? variants, List<ValidationError> errors)
    {
        if (variants is null || variants.Count is < 2 or > MaxVariants)
        {
            errors.Add(new("/variants", $"An experiment has 2 to {MaxVariants} variants."));
            return;
        }

        for (var i = 0; i < variants.Count; i++)
        {
            var variant = variants[i];
            if (!IdPattern().IsMatch(variant.Id ?? ""))
            {
                errors.Add(new($"/variants/{i}/id", "A variant id is 1-64 characters: a lower-case letter, then lower-case letters, digits, '_' or '-'."));
            }
            else if (variants.Take(i).Any(v => v.Id == variant.Id))
            {
                errors.Add(new($"/variants/{i}/id", $"Variant id '{variant.Id}' is used twice."));
            }

            if (variant.Weight is < 0 or > MaxWeight)
            {
                errors.Add(new($"/variants/{i}/weight", $"A weight is between 0 and {MaxWeight}."));
            }

            if (variant.Model is not null && variant.Provider is null)
            {
                errors.Add(new($"/variants/{i}/model", "A pinned model needs its provider."));
            }

            if (variant.Buckets.Count > 0)
            {
                errors.Add(new($"/variants/{i}/buckets", "Buckets are handed out by the gateway when the experiment starts."));
            }
        }

        if (variants.Sum(v => (long)Math.Max(0, v.Weight)) <= 0)
        {
            errors.Add(new("/variants", "The weights add up to 0: no variant could get a user."));
        }
    }
}
