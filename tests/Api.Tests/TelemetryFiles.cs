using System.Text.Json.Nodes;

namespace Navigator.Api.Tests;

/// <summary>Reads the JSONL telemetry a replica writes under its data directory.</summary>
public static class TelemetryFiles
{
    /// <summary>Waits (up to 5 s) until lines matching every predicate exist; returns the first match of each.</summary>
    public static async Task<JsonNode[]> WaitForAsync(string dataDirectory, params Func<JsonNode, bool>[] predicates)
    {
        var dir = Path.Combine(dataDirectory, "telemetry");
        var found = new JsonNode?[predicates.Length];
        for (var attempt = 0; attempt < 100 && found.Any(f => f is null); attempt++)
        {
            if (attempt > 0)
            {
                await Task.Delay(50);
            }

            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (var file in Directory.GetFiles(dir, "*.jsonl"))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                while (await reader.ReadLineAsync() is { } line)
                {
                    var node = JsonNode.Parse(line)!;
                    for (var i = 0; i < predicates.Length; i++)
                    {
                        found[i] ??= predicates[i](node) ? node : null;
                    }
                }
            }
        }

        Assert.All(found, f => Assert.NotNull(f));
        return found!;
    }

    /// <summary>How many lines carry the request id (there must be exactly one per request).</summary>
    public static int Count(string dataDirectory, string requestId) =>
        Directory.GetFiles(Path.Combine(dataDirectory, "telemetry"), "*.jsonl")
            .SelectMany(File.ReadLines)
            .Count(line => JsonNode.Parse(line)!["requestId"]!.GetValue<string>() == requestId);
}
