using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;
using Navigator.Api.Experiments;
using Navigator.Api.Providers;

namespace Navigator.UnitTests;

public sealed class CareerPathJudgeTests
{
    [Theory]
    [InlineData("{\"score\": 5, \"reason\": \"great\"}", 1.0)]
    [InlineData("{\"score\": 1}", 0.0)]
    [InlineData("{\"score\": 3.5}", 0.625)]
    public void A_score_from_1_to_5_becomes_a_metric_in_0_to_1(string reply, double expected)
    {
        Assert.Equal(expected, CareerPathJudge.Read(reply).Value!.Value, 9);
    }

    [Theory]
    [InlineData("{\"score\": 0}")]
    [InlineData("{\"score\": 6}")]
    [InlineData("{\"grade\": 4}")]
    [InlineData("four out of five")]
    public void Anything_else_gives_a_metric_without_a_value(string reply)
    {
        var metric = CareerPathJudge.Read(reply);

        Assert.Null(metric.Value);
        Assert.Contains("did not answer with a score", metric.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_judge_asks_its_model_with_the_rubric_the_profile_the_market_data_and_the_answer()
    {
        var model = new RecordingChatClient("{\"score\": 4, \"reason\": \"grounded\"}");

        var result = await new CareerPathJudge().EvaluateAsync(
            [new ChatMessage(ChatRole.User, "Backend engineer, 6 years of Go")],
            new ChatResponse(new ChatMessage(ChatRole.Assistant, "{\"recommendations\": []}")),
            new ChatConfiguration(model),
            [new JobMarketContext("SRE: $135k-185k")]);

        var metric = result.Get<NumericMetric>(CareerPathJudge.MetricName);
        Assert.Equal((0.75, "grounded"), (metric.Value!.Value, metric.Reason));
        var (messages, options) = Assert.Single(model.Calls);
        Assert.Equal(CareerPathJudge.Rubric, messages[0].Text);
        Assert.Equal(CareerPathJudge.Prompt("Backend engineer, 6 years of Go", "SRE: $135k-185k", "{\"recommendations\": []}"), messages[1].Text);
        Assert.StartsWith(CareerPathJudge.Marker, messages[1].Text, StringComparison.Ordinal);
        Assert.IsType<ChatResponseFormatJson>(options!.ResponseFormat);
    }

    [Fact]
    public void Simulated_and_fake_providers_answer_a_judges_request_as_a_judge()
    {
        var graded = CareerPathSimulator.Answer(CareerPathJudge.Prompt("p", "m", "{\"recommendations\":[{\"salaryRange\":{}}]}"));
        var empty = CareerPathSimulator.Answer(CareerPathJudge.Prompt("p", "m", "{}"));

        Assert.Equal(0.75, CareerPathJudge.Read(graded).Value);
        Assert.Equal(0.0, CareerPathJudge.Read(empty).Value);
        Assert.Contains("recommendations", CareerPathSimulator.Answer("Profile: engineer. Market: SRE: $135k-185k. Give exactly 1."), StringComparison.Ordinal);
    }

    private sealed class RecordingChatClient(string reply) : IChatClient
    {
        public List<(IReadOnlyList<ChatMessage> Messages, ChatOptions? Options)> Calls { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls.Add(([.. messages], options));
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, reply)));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
