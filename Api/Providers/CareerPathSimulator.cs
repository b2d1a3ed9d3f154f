using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Navigator.Api.Pipeline;

namespace Navigator.Api.Providers;

/// <summary>
/// Builds a plausible career-path answer from the prompt itself: roles and salary ranges come from
/// the job-market data ("AI Engineer: $120k-180k"), fit scores from the overlap with the profile.
/// Deterministic for the same input, so tests and demos are repeatable.
/// </summary>
public static partial class CareerPathSimulator
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    [GeneratedRegex(@"(?<title>[A-Za-z][A-Za-z /&+.#-]{1,60}?)\s*:\s*\$?\s*(?<min>\d+(?:\.\d+)?)\s*(?<mk>[kK])?\s*(?:-|–|to)\s*\$?\s*(?<max>\d+(?:\.\d+)?)\s*(?<xk>[kK])?")]
    private static partial Regex RolePattern();

    [GeneratedRegex(@"exactly\s+(?<n>\d+)")]
    private static partial Regex CountPattern();

    [GeneratedRegex(@"[A-Za-z][A-Za-z+#.]{1,}")]
    private static partial Regex WordPattern();

    /// <summary>What a simulated provider answers: a judge's score to a judge's request, recommendations otherwise.</summary>
    public static string Answer(string userPrompt) =>
        userPrompt.StartsWith(Navigator.Api.Experiments.CareerPathJudge.Marker, StringComparison.Ordinal)
            ? userPrompt.Contains("\"salaryRange\"", StringComparison.Ordinal)
                ? "{\"score\": 4, \"reason\": \"Simulated judge: recommendations with salary ranges.\"}"
                : "{\"score\": 1, \"reason\": \"Simulated judge: no recommendations to grade.\"}"
            : Generate(userPrompt);

    public static string Generate(string userPrompt)
    {
        var count = CountPattern().Match(userPrompt) is { Success: true } m
            ? Math.Clamp(int.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture), 1, 10)
            : 3;
        var profileWords = WordPattern().Matches(userPrompt).Select(w => w.Value.ToLowerInvariant()).ToHashSet();

        var roles = RolePattern().Matches(userPrompt)
            .Select(r => (
                Title: r.Groups["title"].Value.Trim(),
                Min: Amount(r.Groups["min"].Value, r.Groups["mk"].Success || r.Groups["xk"].Success),
                Max: Amount(r.Groups["max"].Value, r.Groups["xk"].Success || r.Groups["mk"].Success)))
            .Where(r => r.Min <= r.Max)
            .DistinctBy(r => r.Title)
            .ToList();
        string[] fallback = ["Senior Software Engineer", "Engineering Manager", "Solutions Architect", "Data Engineer", "Product Manager"];
        foreach (var title in fallback)
        {
            if (roles.Count >= count)
            {
                break;
            }

            roles.Add((title, 110_000m, 170_000m));
        }

        var recommendations = roles.Take(count).Select(role => new Recommendation(
            role.Title,
            FitScore(role.Title, profileWords, userPrompt),
            new SalaryRange(role.Min, role.Max, "USD"),
            [$"Production experience as a {role.Title}", $"Portfolio project relevant to {role.Title}"],
            [$"Review three current {role.Title} job postings and list the required skills", "Build one portfolio project in the next 60 days", $"Talk to two people working as a {role.Title}"]))
            .OrderByDescending(r => r.FitScore)
            .ToList();

        return JsonSerializer.Serialize(new { recommendations }, JsonOptions);
    }

    private static decimal Amount(string value, bool thousands)
    {
        var amount = decimal.Parse(value, CultureInfo.InvariantCulture);
        return thousands || amount < 1000 ? amount * 1000 : amount;
    }

    private static double FitScore(string title, HashSet<string> profileWords, string prompt)
    {
        var words = WordPattern().Matches(title).Select(w => w.Value.ToLowerInvariant()).ToList();
        var overlap = words.Count == 0 ? 0 : words.Count(profileWords.Contains) / (double)words.Count;
        // A stable per-input jitter so equal overlaps do not tie.
        var jitter = SHA256.HashData(Encoding.UTF8.GetBytes(title + prompt))[0] / 255.0 * 0.1;
        return Math.Round(Math.Clamp(0.45 + overlap * 0.4 + jitter, 0, 1), 2);
    }
}
