using System.Text.Json;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Parses and checks the model's answer: one JSON object {"recommendations": [...]} whose items
/// carry a title, a fitScore in [0, 1], a salary range with min ≤ max, and two string lists.
/// </summary>
public static class RecommendationParser
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private sealed record Envelope(List<Recommendation>? Recommendations);

    public static IReadOnlyList<Recommendation> Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new FormatException("The model returned no text.");
        }

        // Models sometimes wrap JSON in a code fence; take the outermost object.
        var start = text.IndexOf('{', StringComparison.Ordinal);
        var end = text.LastIndexOf('}');
        if (start < 0 || end <= start)
        {
            throw new FormatException("The model's answer holds no JSON object.");
        }

        Envelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<Envelope>(text.AsSpan(start, end - start + 1), JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The model's answer is not valid JSON: {ex.Message}", ex);
        }

        var items = envelope?.Recommendations;
        if (items is null || items.Count == 0)
        {
            throw new FormatException("The model's answer has no recommendations.");
        }

        for (var i = 0; i < items.Count; i++)
        {
            var r = items[i];
            if (string.IsNullOrWhiteSpace(r.Title))
            {
                throw new FormatException($"recommendations[{i}].title is missing.");
            }

            if (r.FitScore is < 0 or > 1 || double.IsNaN(r.FitScore))
            {
                throw new FormatException($"recommendations[{i}].fitScore must be in [0, 1].");
            }

            if (r.SalaryRange is null || r.SalaryRange.Min < 0 || r.SalaryRange.Min > r.SalaryRange.Max || string.IsNullOrWhiteSpace(r.SalaryRange.Currency))
            {
                throw new FormatException($"recommendations[{i}].salaryRange must have 0 ≤ min ≤ max and a currency.");
            }

            items[i] = r with { SkillGaps = r.SkillGaps ?? [], NextSteps = r.NextSteps ?? [] };
        }

        return items;
    }
}
