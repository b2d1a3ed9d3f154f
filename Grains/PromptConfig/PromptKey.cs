namespace Navigator.Grains.PromptConfig;

/// <summary>How a prompt text is keyed in grain state and seed files: "{kind}/{version}", e.g. "system/v2.1".</summary>
public static class PromptKey
{
    public static string For(string kind, string version) => $"{kind}/{version}";
}
