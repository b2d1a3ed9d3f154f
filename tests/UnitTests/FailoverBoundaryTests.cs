using System.Net;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Grains.PromptConfig;
using Navigator.Grains.Providers;

namespace Navigator.UnitTests;

/// <summary>Only a provider's own failure moves a request to the next provider.</summary>
public sealed class FailoverBoundaryTests
{
    [Fact]
    public async Task A_provider_error_below_the_boundary_fails_over_and_counts_against_the_provider()
    {
        var anthropic = new FakeProvider(_ => Answer());
        var reporter = Reporter();
        var failover = Failover(
            Boundary(reporter, new FakeProvider(_ => throw new HttpRequestException("upstream", null, HttpStatusCode.InternalServerError))),
            Boundary(reporter, anthropic));
        var context = Context();

        var response = await failover.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], context.Attach(new ChatOptions()));

        Assert.Equal("ok", response.Text);
        Assert.Equal([AttemptOutcome.ServerError, AttemptOutcome.Success], context.Attempts.Select(a => a.Outcome));
        Assert.Equal(1, anthropic.Calls);
        Assert.Equal(ProviderCallKind.ServerError, Assert.Single(reporter.Pending("openai")).Kind);
    }

    [Fact]
    public async Task An_unknown_error_below_the_boundary_fails_over_and_is_reported_as_unknown_not_as_a_provider_failure()
    {
        var anthropic = new FakeProvider(_ => Answer());
        var reporter = Reporter();
        var failover = Failover(
            Boundary(reporter, new FakeProvider(_ => throw new InvalidOperationException("a bug in an adapter"))),
            Boundary(reporter, anthropic));
        var context = Context();

        var response = await failover.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], context.Attach(new ChatOptions()));

        Assert.Equal("ok", response.Text);
        Assert.Equal([AttemptOutcome.UnknownError, AttemptOutcome.Success], context.Attempts.Select(a => a.Outcome));
        Assert.Equal(ProviderCallKind.Unknown, Assert.Single(reporter.Pending("openai")).Kind);
    }

    [Fact]
    public async Task A_gateway_error_above_the_boundary_ends_the_request_without_a_second_provider_or_a_circuit_count()
    {
        var anthropic = new FakeProvider(_ => Answer());
        // A ledger, storage or configuration failure happens in the layers above the provider boundary.
        var reporter = Reporter();
        var failover = Failover(
            new FakeProvider(_ => throw new MissingPriceException("gpt-9")),
            Boundary(reporter, anthropic));
        var context = Context();

        await Assert.ThrowsAsync<MissingPriceException>(() =>
            failover.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], context.Attach(new ChatOptions())));

        Assert.Equal(0, anthropic.Calls);
        Assert.Empty(context.Attempts);
        Assert.Empty(reporter.Pending("openai"));
    }

    [Fact]
    public async Task The_provider_boundary_wraps_what_the_provider_threw_and_reports_it()
    {
        var reporter = Reporter();
        var boundary = Boundary(reporter, new FakeProvider(_ => throw new TimeoutException()));
        var options = GatewayCallContext.ForAttempt(Context().Attach(new ChatOptions()), "openai", 1, isProbe: false);

        var error = await Assert.ThrowsAsync<ProviderCallException>(() => boundary.GetResponseAsync([], options));

        Assert.Equal(ProviderCallKind.Timeout, error.Kind);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Equal(ProviderCallKind.Timeout, Assert.Single(reporter.Pending("openai")).Kind);
    }

    [Fact]
    public void A_cheaper_model_without_a_price_is_refused_at_start_up()
    {
        var options = new ProvidersOptions();
        options.OpenAI.Models["gpt-4o"] = new ModelPrice { InputPerMillionUsd = 2.5m, OutputPerMillionUsd = 10m };
        options.Anthropic.Models["claude"] = new ModelPrice();
        Assert.True(new ProviderPricesValidator().Validate(null, options).Succeeded);

        options.OpenAI.CheaperModel = "gpt-4o-mini";
        var result = new ProviderPricesValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("providers:openai:cheaperModel 'gpt-4o-mini' has no price", result.FailureMessage, StringComparison.Ordinal);
        Assert.Throws<MissingPriceException>(() => options.OpenAI.PriceOf("gpt-4o-mini"));
    }

    [Fact]
    public void A_feature_version_using_a_model_without_a_price_is_named()
    {
        var options = new ProvidersOptions();
        options.OpenAI.Models["gpt-4o"] = new ModelPrice();
        options.Anthropic.Models["claude"] = new ModelPrice();
        Assert.Empty(MissingPrices.In(Context().Settings, options));

        var unpriced = Context().Settings with
        {
            Providers = new Dictionary<string, ProviderModelSettings> { ["openai"] = new("gpt-9", 0.7f, 800), ["anthropic"] = new("claude", 0.7f, 800) },
        };
        Assert.Equal(["providers:openai:models has no price for 'gpt-9', which the active feature version uses."], MissingPrices.In(unpriced, options));
    }

    private static ChatResponse Answer() => Failovers.Answer();

    private static GatewayCallContext Context() => Failovers.Context(DateTimeOffset.UtcNow);

    // The reporter only queues here: nothing flushes it to a grain in these tests.
    private static ProviderOutcomeReporter Reporter() => new(null!, NullLogger<ProviderOutcomeReporter>.Instance);

    private static HealthReportingChatClient Boundary(ProviderOutcomeReporter reporter, IChatClient provider) =>
        new(provider, reporter, TimeProvider.System);

    private static ProviderFailoverChatClient Failover(IChatClient openai, IChatClient anthropic) =>
        Failovers.Build(new Dictionary<string, IChatClient> { ["openai"] = openai, ["anthropic"] = anthropic });
}
