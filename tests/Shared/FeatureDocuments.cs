using System.Text.Json.Nodes;

namespace Navigator.Testing;

/// <summary>Feature config documents for tests, derived from the repository's own active config.</summary>
public static class FeatureDocuments
{
    public static string ActiveConfigText =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "seed", "config", "features", "career_path_navigator.json"));

    public static string PromptText(string kind, string version) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "seed", "prompts", "career_path_navigator", kind, $"{version}.txt"));

    /// <summary>The repository's 1.2.3 config with the given changes applied.</summary>
    public static string Make(string feature, string version, string system = "v2.1", string user = "v1.5", Action<JsonObject>? edit = null)
    {
        var node = JsonNode.Parse(ActiveConfigText)!.AsObject();
        node["feature"] = feature;
        node["version"] = version;
        node["prompts"] = new JsonObject { ["system"] = system, ["user"] = user };
        edit?.Invoke(node);
        return node.ToJsonString();
    }
}
