using System.Net.Http.Headers;

namespace Navigator.ConfigImport;

/// <summary>
/// Usage: dotnet run --project tools/ConfigImport -- [--url http://127.0.0.1:5080] [--root .] [--feature career_path_navigator] [--activate] [--reason "..."]
/// The admin key comes from NAVIGATOR_ADMIN_KEY (default: the development key).
/// </summary>
public static class ImportProgram
{
    public static async Task<int> Main(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var activate = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--activate")
            {
                activate = true;
            }
            else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            {
                options[args[i][2..]] = args[++i];
            }
            else
            {
                Console.Error.WriteLine($"Unknown argument '{args[i]}'. Options: --url, --root, --feature, --activate, --reason.");
                return 2;
            }
        }

        var url = options.GetValueOrDefault("url") ?? $"http://127.0.0.1:{Environment.GetEnvironmentVariable("NAVIGATOR_API_PORT") ?? "5080"}";
        var root = options.GetValueOrDefault("root") ?? Directory.GetCurrentDirectory();
        var feature = options.GetValueOrDefault("feature") ?? "career_path_navigator";
        var key = Environment.GetEnvironmentVariable("NAVIGATOR_ADMIN_KEY") is { Length: > 0 } k ? k : "dev-admin-key";

        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var steps = await new ConfigImporter(http, root, feature).ImportAsync(activate, options.GetValueOrDefault("reason") ?? "GitOps import");
        foreach (var step in steps)
        {
            Console.WriteLine($"{step.Outcome,-10} {(int)step.Status} {step.Item}{(step.Detail is null ? "" : $": {step.Detail}")}");
        }

        var failed = steps.Count(s => (int)s.Status >= 300);
        Console.WriteLine(failed == 0 ? $"Imported {steps.Count} items." : $"{failed} of {steps.Count} items were refused.");
        return failed == 0 ? 0 : 1;
    }
}
