using System.Diagnostics;

namespace Navigator.Api.Tests;

/// <summary>
/// The deployment artefacts pass their validators inside ./test.sh: the Kubernetes manifests (kubernetes-models
/// schemas and our rules), the Prometheus alert rules (promtool, with their unit tests), the OpenAPI document
/// the API serves (Spectral), and the validators' own self-tests, which break inputs on purpose.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class DeploymentValidationTests(ApiFixture fixture)
{
    private static readonly string Repo = FindRepo();

    [Fact]
    public async Task The_kubernetes_manifests_pass_their_schemas_and_rules() =>
        await AssertPassesAsync("node", "tools/validate/manifests.mjs");

    [Fact]
    public async Task The_validators_fail_on_broken_inputs() =>
        await AssertPassesAsync("node", "--test", "tools/validate/");

    [Fact]
    public async Task The_architecture_diagram_is_the_rendering_of_its_source() =>
        await AssertPassesAsync("bash", "tools/docs/diagram.sh", "--check");

    [Fact]
    public async Task The_alert_rules_pass_promtool_and_their_unit_tests() =>
        await AssertPassesAsync("bash", "tools/validate/promtool.sh");

    [Fact]
    public async Task The_served_openapi_document_passes_spectral_without_a_warning()
    {
        var document = Path.Combine(Path.GetTempPath(), $"navigator-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(document, await fixture.Client(key: null).GetStringAsync("/openapi/v1.json"));
        try
        {
            await AssertPassesAsync("bash", "tools/validate/openapi.sh", document);
        }
        finally
        {
            File.Delete(document);
        }
    }

    private static async Task AssertPassesAsync(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { WorkingDirectory = Repo, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await errors}");
    }

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Navigator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Navigator.sln was not found above the test's folder.");
    }
}
