using System.Net;
using System.Text.Json.Nodes;
using Navigator.ConfigImport;
using Navigator.Testing;

namespace Navigator.Api.Tests;

[Collection(ReplicaCollection.Name)]
public sealed class ConfigImportTests(TwoReplicaFixture fixture) : IDisposable
{
    private const string Feature = "career_path_navigator";
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"navigator-import-{Guid.NewGuid():N}");

    [Fact]
    public async Task Import_publishes_new_files_skips_unchanged_ones_and_refuses_edits()
    {
        CopyDirectory(Path.Combine(AppContext.BaseDirectory, "seed"), _root);
        File.WriteAllText(Path.Combine(_root, "prompts", Feature, "system", "v2.3.txt"), "You are a career advisor who cites the market data for every salary.");
        File.WriteAllText(Path.Combine(_root, "config", "features", $"{Feature}.v1.3.0.json"), FeatureDocuments.Make(Feature, "1.3.0", system: "v2.3"));
        var admin = fixture.Replicas[0].Client(ApiReplica.AdminKey);

        var steps = await new ConfigImporter(admin, _root, Feature).ImportAsync(activate: false, "test import");

        Assert.Equal("published", Assert.Single(steps, s => s.Item == "prompt system/v2.3").Outcome);
        Assert.Equal("published", Assert.Single(steps, s => s.Item.StartsWith("feature 1.3.0", StringComparison.Ordinal)).Outcome);
        var seeded = steps.Where(s => s.Item is "prompt system/v2.1" or "prompt user/v1.5" || s.Item.StartsWith("feature 1.2.3", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, seeded.Count);
        Assert.All(seeded, s => Assert.Equal("unchanged", s.Outcome));
        var overview = JsonNode.Parse(await admin.GetStringAsync($"/admin/features/{Feature}"))!;
        Assert.Contains(overview["versions"]!.AsArray(), v => v!["version"]!.GetValue<string>() == "1.3.0");
        Assert.NotEqual("1.3.0", overview["activeVersion"]!.GetValue<string>());

        // Editing a published file is refused: publish a new version instead.
        File.AppendAllText(Path.Combine(_root, "prompts", Feature, "system", "v2.1.txt"), "\nAn edit in place.");
        var again = await new ConfigImporter(admin, _root, Feature).ImportAsync(activate: true, "test import");
        var conflict = Assert.Single(again, s => s.Item == "prompt system/v2.1");
        Assert.Equal(("conflict", HttpStatusCode.Conflict), (conflict.Outcome, conflict.Status));
        Assert.DoesNotContain(again, s => s.Item.StartsWith("activate", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
        }
    }
}
