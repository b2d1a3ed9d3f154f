using System.Globalization;
using System.Text.RegularExpressions;
using Navigator.Api.Pipeline;

namespace Navigator.Api.Experiments;

/// <summary>A cheap, deterministic score of an answer in [0, 1], the mean of its parts (each in [0, 1]).</summary>
public sealed record QualityScore(double Score, double Count, double TitlesGrounded, double SalariesGrounded, double SkillGapsGrounded, double FitOrdered);

/// <summary>
/// Scores every answer without a model call. An answer that parses is already valid JSON of the right shape
/// (<see cref="RecommendationParser"/>); on top of that it checks that:
/// <list type="bullet">
/// <item>it has the number of recommendations the feature asks for;</item>
/// <item>each title names a role in the job-market data;</item>
/// <item>each salary range's ends are amounts the job-market data gives (within 5%);</item>
/// <item>each recommendation lists skill gaps, and they are not skills the profile already names;</item>
/// <item>the fit scores rank the recommendations, best first.</item>
/// </list>
/// </summary>
public static partial class QualityScorer
{
    public static QualityScore Score(IReadOnlyList<Recommendation> recommendations, int expectedCount, string userProfile, string jobMarketData)
    {
        if (recommendations.Count == 0)
        {
            return new QualityScore(0, 0, 0, 0, 0, 0);
        }

        var count = Math.Min(recommendations.Count, expectedCount) / (double)Math.Max(recommendations.Count, expectedCount);
        var amounts = Amounts(jobMarketData);
        var titles = recommendations.Average(r => TitleGrounded(r.Title, jobMarketData) ? 1.0 : 0.0);
        var salaries = recommendations.Average(r => Near(r.SalaryRange.Min, amounts) && Near(r.SalaryRange.Max, amounts) ? 1.0 : 0.0);
        var gaps = recommendations.Average(r => r.SkillGaps.Count > 0
            && r.SkillGaps.All(g => !userProfile.Contains(g.Trim(), StringComparison.OrdinalIgnoreCase)) ? 1.0 : 0.0);
        var ordered = recommendations.Zip(recommendations.Skip(1)).All(p => p.First.FitScore >= p.Second.FitScore) ? 1.0 : 0.0;
        return new QualityScore((count + titles + salaries + gaps + ordered) / 5, count, titles, salaries, gaps, ordered);
    }

    /// <summary>The title appears in the data, or every word of three letters or more in it does.</summary>
    private static bool TitleGrounded(string title, string data)
    {
        if (data.Contains(title, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var words = Word().Matches(title).Select(m => m.Value).Where(w => w.Length >= 3).ToList();
        return words.Count > 0 && words.All(w => data.Contains(w, StringComparison.OrdinalIgnoreCase));
    }

    private static bool Near(decimal value, IReadOnlyList<decimal> amounts) =>
        amounts.Any(a => a > 0 && Math.Abs(value - a) <= a * 0.05m);

    /// <summary>Money amounts in the data: "$120k", "180K", "$130,000", "95000".</summary>
    internal static IReadOnlyList<decimal> Amounts(string data) =>
        [.. Amount().Matches(data).Select(m =>
        {
            var number = decimal.Parse(m.Groups["n"].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
            return m.Groups["k"].Success ? number * 1000 : number;
        })];

    [GeneratedRegex(@"\$?(?<n>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(?<k>[kK])?")]
    private static partial Regex Amount();

    [GeneratedRegex(@"[\p{L}\p{N}+#]+")]
    private static partial Regex Word();
}
