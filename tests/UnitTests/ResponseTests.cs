using Navigator.Api.Pipeline;
using Navigator.Api.Providers;

namespace Navigator.UnitTests;

public sealed class ResponseTests
{
    private const string Valid = """
        {"recommendations":[{"title":"ML Engineer","fitScore":0.8,"salaryRange":{"min":130000,"max":200000,"currency":"USD"},"skillGaps":["MLOps"],"nextSteps":["Ship a model"]}]}
        """;

    [Fact]
    public void Parses_a_valid_answer()
    {
        var recommendation = Assert.Single(RecommendationParser.Parse(Valid));
        Assert.Equal("ML Engineer", recommendation.Title);
        Assert.Equal(0.8, recommendation.FitScore);
        Assert.Equal(new SalaryRange(130000, 200000, "USD"), recommendation.SalaryRange);
        Assert.Equal(["MLOps"], recommendation.SkillGaps);
    }

    [Fact]
    public void Accepts_an_answer_wrapped_in_a_code_fence()
    {
        Assert.Single(RecommendationParser.Parse($"```json\n{Valid}\n```"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Sorry, I cannot help with that.")]
    [InlineData("{\"recommendations\": [")]
    [InlineData("{\"recommendations\": []}")]
    [InlineData("{\"recommendations\":[{\"title\":\"\",\"fitScore\":0.5,\"salaryRange\":{\"min\":1,\"max\":2,\"currency\":\"USD\"}}]}")]
    [InlineData("{\"recommendations\":[{\"title\":\"X\",\"fitScore\":1.5,\"salaryRange\":{\"min\":1,\"max\":2,\"currency\":\"USD\"}}]}")]
    [InlineData("{\"recommendations\":[{\"title\":\"X\",\"fitScore\":0.5,\"salaryRange\":{\"min\":3,\"max\":2,\"currency\":\"USD\"}}]}")]
    [InlineData("{\"recommendations\":[{\"title\":\"X\",\"fitScore\":0.5}]}")]
    public void Rejects_answers_that_break_the_contract(string text)
    {
        Assert.Throws<FormatException>(() => RecommendationParser.Parse(text));
    }

    [Fact]
    public void Simulator_answers_with_the_market_roles_and_salaries_it_was_given()
    {
        var text = CareerPathSimulator.Generate(
            "My profile:\nPython engineer interested in ML\n\nCurrent job-market data:\nAI Engineer: $120k-180k, ML Engineer: $130k-200k\n\nRecommend exactly 3 career paths for me, best fit first.");
        var recommendations = RecommendationParser.Parse(text);

        Assert.Equal(3, recommendations.Count);
        var ml = Assert.Single(recommendations, r => r.Title == "ML Engineer");
        Assert.Equal(new SalaryRange(130000, 200000, "USD"), ml.SalaryRange);
        Assert.Contains(recommendations, r => r.Title == "AI Engineer");
        Assert.All(recommendations, r => Assert.InRange(r.FitScore, 0, 1));
        Assert.Equal(recommendations.OrderByDescending(r => r.FitScore).Select(r => r.Title), recommendations.Select(r => r.Title));
        Assert.Equal(text, CareerPathSimulator.Generate(
            "My profile:\nPython engineer interested in ML\n\nCurrent job-market data:\nAI Engineer: $120k-180k, ML Engineer: $130k-200k\n\nRecommend exactly 3 career paths for me, best fit first."));
    }
}
