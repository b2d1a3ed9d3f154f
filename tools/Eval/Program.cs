using System.Net.Http.Headers;
using Navigator.Eval;

// tools/Eval: the golden set against one or more feature versions, side by side.
//   dotnet run --project tools/Eval -- <version>[,<version>...] [gateway URL = http://127.0.0.1:5080] [feature = career_path_navigator]
// NAVIGATOR_ADMIN_KEY is the admin key (write scope; the evaluations are charged to the budget), dev-admin-key by default.
if (args.Length is 0 or > 3 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: dotnet run --project tools/Eval -- <version>[,<version>...] [gateway URL] [feature]");
    return 2;
}

var versions = args[0].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
var url = args.Length > 1 ? args[1] : "http://127.0.0.1:5080";
var feature = args.Length > 2 ? args[2] : "career_path_navigator";
using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
    Environment.GetEnvironmentVariable("NAVIGATOR_ADMIN_KEY") is { Length: > 0 } key ? key : "dev-admin-key");

var golden = EvalRunner.LoadGolden(Path.Combine(AppContext.BaseDirectory, "golden.json"));
Console.Error.WriteLine($"Evaluating {golden.Count} golden profiles against {string.Join(", ", versions)} at {url}...");
try
{
    var rows = await new EvalRunner(http, feature).RunAsync(golden, versions, line => Console.Error.Write($"\r{line,-60}"));
    Console.Error.WriteLine();
    Console.WriteLine(EvalRunner.Format(rows));
    return rows.Any(r => r.Error is not null) ? 1 : 0;
}
catch (HttpRequestException ex)
{
    Console.Error.WriteLine($"\nThe gateway at {url} could not be reached: {ex.Message}. Start it with ./run.sh.");
    return 1;
}
