using Navigator.Api.Experiments;
using Navigator.Api.Pipeline;

namespace Navigator.UnitTests;

public sealed class QualityScorerTests
{
    private const string Profile = "Software engineer, 5 years, Python and Java, interested in AI/ML";
    private const string Market = "AI Engineer: $120k-180k, ML Engineer: $130,000-$200,000, Data Scientist: 110K-170K";

    private static readonly Recommendation Ai = new("AI Engineer", 0.9, new SalaryRange(120_000, 180_000, "USD"), ["PyTorch"], ["Build a model"]);
    private static readonly Recommendation Ml = new("ML Engineer", 0.8, new SalaryRange(130_000, 200_000, "USD"), ["MLOps"], ["Ship a pipeline"]);
    private static readonly Recommendation Ds = new("Data Scientist", 0.7, new SalaryRange(110_000, 170_000, "USD"), ["Statistics"], ["Take a course"]);

    [Fact]
    public void A_grounded_answer_of_the_right_size_scores_1()
    {
        var score = QualityScorer.Score([Ai, Ml, Ds], 3, Profile, Market);

        Assert.Equal(new QualityScore(1, 1, 1, 1, 1, 1), score);
    }

    [Fact]
    public void Each_part_falls_for_its_own_fault()
    {
        Assert.Equal(2 / 3.0, QualityScorer.Score([Ai, Ml], 3, Profile, Market).Count, 9);
        Assert.Equal(2 / 3.0, QualityScorer.Score([Ai, Ml, Ds with { Title = "Astronaut" }], 3, Profile, Market).TitlesGrounded, 9);
        Assert.Equal(2 / 3.0, QualityScorer.Score([Ai, Ml, Ds with { SalaryRange = new SalaryRange(300_000, 400_000, "USD") }], 3, Profile, Market).SalariesGrounded, 9);
        // A "gap" the profile already names is no gap; no gaps at all is not grounded either.
        Assert.Equal(1 / 3.0, QualityScorer.Score([Ai with { SkillGaps = ["Python"] }, Ml, Ds with { SkillGaps = [] }], 3, Profile, Market).SkillGapsGrounded, 9);
        Assert.Equal(0, QualityScorer.Score([Ds, Ml, Ai], 3, Profile, Market).FitOrdered);
        Assert.Equal(0.8, QualityScorer.Score([Ds, Ml, Ai], 3, Profile, Market).Score, 9);
    }

    [Fact]
    public void Salaries_within_5_percent_of_an_amount_in_the_data_are_grounded()
    {
        Assert.Equal([120_000m, 180_000m, 130_000m, 200_000m, 110_000m, 170_000m], QualityScorer.Amounts(Market));
        Assert.Equal(1, QualityScorer.Score([Ai with { SalaryRange = new SalaryRange(125_999, 171_000, "USD") }], 1, Profile, Market).SalariesGrounded);
        // 136,600 is more than 5% above 130,000 and below 161,500 (170,000 less 5%): near no amount.
        Assert.Equal(0, QualityScorer.Score([Ai with { SalaryRange = new SalaryRange(136_600, 180_000, "USD") }], 1, Profile, Market).SalariesGrounded);
    }

    [Fact]
    public void An_empty_answer_scores_0()
    {
        Assert.Equal(0, QualityScorer.Score([], 3, Profile, Market).Score);
    }
}
