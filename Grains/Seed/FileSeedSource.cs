using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Navigator.Grains.Experiments;
using Navigator.Grains.PromptConfig;

namespace Navigator.Grains.Seed;

public sealed class SeedOptions
{
    /// <summary>The folder holding config/ and prompts/. Defaults to "seed" beside the silo binaries.</summary>
    public string Directory { get; set; } = Path.Combine(AppContext.BaseDirectory, "seed");
}

/// <summary>Reads seed data from the repo layout: config/features, config/*.json and prompts/{feature}/{kind}/*.txt.</summary>
public sealed class FileSeedSource(IOptions<SeedOptions> options) : ISeedSource
{
    private readonly string _root = options.Value.Directory;

    public FeatureSeed? LoadFeature(string feature)
    {
        var featuresDir = Path.Combine(_root, "config", "features");
        if (!System.IO.Directory.Exists(featuresDir))
        {
            return null;
        }

        var documents = new List<string>();
        string? active = null;
        foreach (var file in System.IO.Directory.EnumerateFiles(featuresDir, $"{feature}*.json").Order(StringComparer.Ordinal))
        {
            var text = File.ReadAllText(file);
            documents.Add(text);
            // The un-suffixed file is the active config; "<feature>.v1.2.2.json" files are archived versions.
            if (Path.GetFileName(file) == $"{feature}.json")
            {
                active = JsonNode.Parse(text)?["version"]?.GetValue<string>();
            }
        }

        if (documents.Count == 0 || active is null)
        {
            return null;
        }

        var prompts = new Dictionary<string, string>(StringComparer.Ordinal);
        var promptsDir = Path.Combine(_root, "prompts", feature);
        if (System.IO.Directory.Exists(promptsDir))
        {
            foreach (var kindDir in System.IO.Directory.EnumerateDirectories(promptsDir))
            {
                var kind = Path.GetFileName(kindDir);
                foreach (var file in System.IO.Directory.EnumerateFiles(kindDir, "*.txt"))
                {
                    prompts[PromptKey.For(kind, Path.GetFileNameWithoutExtension(file))] = File.ReadAllText(file);
                }
            }
        }

        return new FeatureSeed(documents, active, prompts);
    }

    public IReadOnlyList<string> ExperimentIds()
    {
        var path = Path.Combine(_root, "config", "ab_test_config.json");
        if (!File.Exists(path))
        {
            return [];
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.TryGetProperty("experiments", out var experiments)
            ? [.. experiments.EnumerateObject().Select(e => e.Name)]
            : [];
    }

    public ExperimentDefinition? LoadExperiment(string experimentId)
    {
        var path = Path.Combine(_root, "config", "ab_test_config.json");
        if (!File.Exists(path))
        {
            return null;
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        if (!doc.RootElement.TryGetProperty("experiments", out var experiments)
            || !experiments.TryGetProperty(experimentId, out var experiment))
        {
            return null;
        }

        var variants = experiment.GetProperty("variants").EnumerateArray()
            .Select(v => new ExperimentVariant(
                v.GetProperty("id").GetString()!,
                v.GetProperty("weight").GetInt32(),
                Text(v, "provider"))
            {
                Model = Text(v, "model"),
                FeatureVersion = Text(v, "featureVersion"),
                SystemPromptVersion = Text(v, "systemPromptVersion"),
                UserPromptVersion = Text(v, "userPromptVersion"),
            })
            .ToList();
        var coverage = experiment.TryGetProperty("coverage", out var c) ? c.GetDouble() : 1.0;
        var status = Text(experiment, "status") ?? ExperimentDefinition.Stopped;
        return new ExperimentDefinition(
            experimentId,
            status,
            Text(experiment, "salt") ?? experimentId,
            status == ExperimentDefinition.Running ? BucketAllocator.Allocate(variants, coverage) : variants)
        {
            Feature = Text(experiment, "feature"),
            Coverage = coverage,
            Description = Text(experiment, "description"),
            Revision = 1,
        };

        static string? Text(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }

    public string? LoadSchema()
    {
        var path = Path.Combine(_root, "config", "schema", "feature_config_schema.json");
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    public BudgetPolicy LoadBudgetPolicy()
    {
        var path = Path.Combine(_root, "config", "rate_limits.json");
        if (!File.Exists(path))
        {
            return BudgetPolicy.Default;
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.TryGetProperty("budget", out var budget)
            ? budget.Deserialize<BudgetPolicy>(new JsonSerializerOptions(JsonSerializerDefaults.Web)) ?? BudgetPolicy.Default
            : BudgetPolicy.Default;
    }
}
