using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Navigator.ConfigImport;

/// <summary>One line of the import report.</summary>
public sealed record ImportStep(string Item, HttpStatusCode Status, string Outcome, string? Detail);

/// <summary>
/// GitOps import: publishes the repository's prompts/{feature}/{kind}/*.txt and
/// config/features/{feature}*.json through the admin API. Published versions are immutable, so
/// re-running it is safe: unchanged files report "unchanged", edited ones "conflict". With
/// activate, the un-suffixed config file's version becomes active.
/// </summary>
public sealed class ConfigImporter(HttpClient admin, string root, string feature)
{
    public async Task<IReadOnlyList<ImportStep>> ImportAsync(bool activate, string reason, CancellationToken cancellationToken = default)
    {
        var steps = new List<ImportStep>();
        var prompts = Path.Combine(root, "prompts", feature);
        foreach (var file in Directory.EnumerateFiles(prompts, "*.txt", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var kind = Path.GetFileName(Path.GetDirectoryName(file)!);
            var version = Path.GetFileNameWithoutExtension(file);
            var text = await File.ReadAllTextAsync(file, cancellationToken);
            var response = await admin.PostAsJsonAsync($"/admin/features/{feature}/prompts/{kind}/{version}", new { text }, cancellationToken);
            steps.Add(await StepAsync($"prompt {kind}/{version}", response, cancellationToken));
        }

        string? active = null;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "config", "features"), $"{feature}*.json").Order(StringComparer.Ordinal))
        {
            var document = await File.ReadAllTextAsync(file, cancellationToken);
            var isActive = Path.GetFileName(file) == $"{feature}.json";
            var version = JsonNode.Parse(document)?["version"]?.GetValue<string>() ?? "?";
            active = isActive ? version : active;
            var response = await admin.PostAsync($"/admin/features/{feature}/versions",
                new StringContent(document, Encoding.UTF8, "application/json"), cancellationToken);
            steps.Add(await StepAsync($"feature {version} ({Path.GetFileName(file)})", response, cancellationToken));
        }

        if (activate && active is not null && steps.All(s => (int)s.Status < 300))
        {
            var response = await admin.PostAsJsonAsync($"/admin/features/{feature}/activate", new { version = active, reason }, cancellationToken);
            steps.Add(await StepAsync($"activate {active}", response, cancellationToken));
        }

        return steps;
    }

    private static async Task<ImportStep> StepAsync(string item, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var json = string.IsNullOrWhiteSpace(body) ? null : JsonNode.Parse(body);
        var outcome = response.StatusCode switch
        {
            HttpStatusCode.Created => "published",
            HttpStatusCode.OK => json?["outcome"]?.GetValue<string>() ?? "ok",
            HttpStatusCode.Conflict => "conflict",
            HttpStatusCode.UnprocessableEntity => "invalid",
            _ => "failed",
        };
        var errors = json?["errors"] is JsonArray list
            ? string.Join("; ", list.Select(e => $"{e?["pointer"]} {e?["message"]}"))
            : null;
        return new ImportStep(item, response.StatusCode, outcome, errors ?? json?["detail"]?.GetValue<string>() ?? json?["message"]?.GetValue<string>());
    }
}
