using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Navigator.Eval;

/// <summary>One golden profile: who the user is and the job-market data sent with them.</summary>
public sealed record GoldenProfile(string Id, string UserProfile, string JobMarketData);

/// <summary>What one feature version did with one profile (null scores: the call failed).</summary>
public sealed record EvalRow(string Profile, string Version, double? Quality, double? Judge, decimal CostUsd, string? Error);

/// <summary>
/// Runs the golden set against feature versions through the gateway's
/// <c>POST /admin/features/{feature}/evaluate</c> (which answers with the chosen version, scores the answer
/// deterministically and with the LLM judge, and charges the budget), and lays the results out side by side.
/// </summary>
public sealed class EvalRunner(HttpClient admin, string feature)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IReadOnlyList<GoldenProfile> LoadGolden(string path) =>
        JsonNode.Parse(File.ReadAllText(path))!["profiles"]!.Deserialize<List<GoldenProfile>>(Json)!;

    public async Task<IReadOnlyList<EvalRow>> RunAsync(IReadOnlyList<GoldenProfile> golden, IReadOnlyList<string> versions, Action<string>? progress = null)
    {
        var rows = new List<EvalRow>();
        foreach (var version in versions)
        {
            foreach (var (profile, i) in golden.Select((p, i) => (p, i)))
            {
                progress?.Invoke($"{version}: {i + 1}/{golden.Count} {profile.Id}");
                rows.Add(await EvaluateAsync(profile, version));
            }
        }

        return rows;
    }

    private async Task<EvalRow> EvaluateAsync(GoldenProfile profile, string version)
    {
        using var response = await admin.PostAsJsonAsync($"/admin/features/{feature}/evaluate",
            new { featureVersion = version, userProfile = profile.UserProfile, jobMarketData = profile.JobMarketData, judge = true });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        if (!response.IsSuccessStatusCode)
        {
            return new EvalRow(profile.Id, version, null, null, 0, $"{(int)response.StatusCode} {body?["detail"] ?? body?["title"]}");
        }

        return new EvalRow(profile.Id, version, body!["quality"]!["score"]!.GetValue<double>(), body["judgeScore"]?.GetValue<double>(),
            body["costUsd"]!.GetValue<decimal>(), null);
    }

    /// <summary>A table: one line per profile with each version's quality / judge scores, then each version's means and cost.</summary>
    public static string Format(IReadOnlyList<EvalRow> rows)
    {
        var versions = rows.Select(r => r.Version).Distinct().ToList();
        var profiles = rows.Select(r => r.Profile).Distinct().ToList();
        var width = Math.Max(8, profiles.Max(p => p.Length));
        var text = new StringBuilder();
        text.Append("profile".PadRight(width));
        foreach (var version in versions)
        {
            text.Append(CultureInfo.InvariantCulture, $" | {version + " quality",16} {"judge",6}");
        }

        text.AppendLine();
        foreach (var profile in profiles)
        {
            text.Append(profile.PadRight(width));
            foreach (var version in versions)
            {
                var row = rows.Single(r => r.Profile == profile && r.Version == version);
                text.Append(CultureInfo.InvariantCulture, $" | {Score(row.Quality),16} {Score(row.Judge),6}");
            }

            text.AppendLine();
        }

        text.AppendLine(new string('-', width + versions.Count * 26));
        foreach (var version in versions)
        {
            var of = rows.Where(r => r.Version == version).ToList();
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{version}: mean quality {Score(Mean(of.Select(r => r.Quality)))}, mean judge {Score(Mean(of.Select(r => r.Judge)))}, " +
                $"failed {of.Count(r => r.Error is not null)}/{of.Count}, cost ${of.Sum(r => r.CostUsd):0.######}");
        }

        return text.ToString();
    }

    private static double? Mean(IEnumerable<double?> values) => values.Where(v => v is not null).Select(v => v!.Value).DefaultIfEmpty(double.NaN).Average() is var m && double.IsNaN(m) ? null : m;

    private static string Score(double? value) => value is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "-";
}
