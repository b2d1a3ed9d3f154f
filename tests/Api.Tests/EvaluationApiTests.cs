using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Navigator.Eval;

namespace Navigator.Api.Tests;

/// <summary>tools/Eval's golden set through the evaluate endpoint, two feature versions side by side.</summary>
[Collection(ExperimentsCollection.Name)]
public sealed class EvaluationApiTests(ExperimentsFixture fixture)
{
    private HttpClient Admin => fixture.Replicas[0].Client(ApiReplica.AdminKey);

    [Fact]
    public async Task The_golden_set_runs_against_two_versions_and_prints_them_side_by_side()
    {
        var golden = EvalRunner.LoadGolden(Path.Combine(AppContext.BaseDirectory, "golden.json"));
        Assert.True(golden.Count >= 20, $"{golden.Count} golden profiles");
        Assert.Equal(golden.Count, golden.Select(p => p.Id).Distinct().Count());

        var rows = await new EvalRunner(Admin, "career_path_navigator").RunAsync(golden, ["1.2.2", "1.2.3"]);

        Assert.Equal(golden.Count * 2, rows.Count);
        Assert.All(rows, r =>
        {
            Assert.Null(r.Error);
            Assert.InRange(r.Quality!.Value, 0.2, 1);
            Assert.Equal(0.75, r.Judge!.Value, 9); // the simulated judge: 4 of 5 for an answer with salary ranges
            Assert.True(r.CostUsd > 0);
        });
        var table = EvalRunner.Format(rows);
        Assert.Contains("1.2.2 quality", table, StringComparison.Ordinal);
        Assert.Contains("1.2.3 quality", table, StringComparison.Ordinal);
        Assert.All(golden, p => Assert.Contains(p.Id, table, StringComparison.Ordinal));
        Assert.Contains($"failed 0/{golden.Count}", table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_evaluation_reports_the_versions_it_used_and_bad_input_is_refused()
    {
        var answer = await Admin.PostAsJsonAsync("/admin/features/career_path_navigator/evaluate", new
        {
            userProfile = "Backend engineer, 6 years of Go",
            jobMarketData = "Platform Engineer: $140k-190k, SRE: $135k-185k",
            systemPromptVersion = "v2.0",
            provider = "anthropic",
            judge = false,
        });
        var body = (await answer.Content.ReadFromJsonAsync<JsonNode>())!;
        Assert.Equal(("v2.0", "anthropic"), (body["systemPromptVersion"]!.GetValue<string>(), body["provider"]!.GetValue<string>()));
        Assert.Null(body["judgeScore"]);

        var unknown = await ProblemAssert.ReadAsync(await Admin.PostAsJsonAsync("/admin/features/career_path_navigator/evaluate",
            new { userProfile = "x", jobMarketData = "y", featureVersion = "9.9.9" }), HttpStatusCode.UnprocessableEntity);
        Assert.Equal("/featureVersion", unknown["errors"]![0]!["pointer"]!.GetValue<string>());
        await ProblemAssert.ReadAsync(await Admin.PostAsJsonAsync("/admin/features/career_path_navigator/evaluate", new { userProfile = "x" }), HttpStatusCode.BadRequest);
        await ProblemAssert.ReadAsync(await Admin.PostAsJsonAsync("/admin/features/career_path_navigator/evaluate",
            new { userProfile = "x", jobMarketData = "y", provider = "mistral" }), HttpStatusCode.BadRequest);
        await ProblemAssert.ReadAsync(await fixture.Replicas[0].Client(ApiReplica.ReaderAdminKey).PostAsJsonAsync("/admin/features/career_path_navigator/evaluate",
            new { userProfile = "x", jobMarketData = "y" }), HttpStatusCode.Forbidden);
    }
}
