using System.Net;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;
using Navigator.Grains.Providers;
using static Navigator.UnitTests.FailoverHarness;

namespace Navigator.UnitTests;

/// <summary>The failover layer: which provider is tried, with what, for how long, and what each attempt leaves in the record.</summary>
public sealed class ProviderFailoverChatClientTests
{
    /// <summary>The real provider boundary: it turns the provider's own failures (here, the attempt's timeout) into <see cref="ProviderCallException"/>.</summary>
    private static HealthReportingChatClient Boundary(IChatClient provider) =>
        new(provider, new ProviderOutcomeReporter(null!, Microsoft.Extensions.Logging.Abstractions.NullLogger<ProviderOutcomeReporter>.Instance), TimeProvider.System);

    private static ProviderCallException Failure(ProviderCallKind kind, TimeSpan? retryAfter = null) =>
        new(kind, retryAfter, null, new HttpRequestException("upstream", null, HttpStatusCode.InternalServerError));

    [Fact]
    public async Task Each_attempt_carries_its_providers_model_temperature_and_token_cap_and_json_only_for_openai()
    {
        var openai = new FakeProvider(_ => throw Failure(ProviderCallKind.ServerError));
        var anthropic = new FakeProvider(_ => Answer());
        var harness = new FailoverHarness(openai, anthropic);

        await harness.SendAsync(Context());

        var first = openai.Options.Single()!;
        // The token cap is the smaller of the model's and the feature's (800 and 800; 600 and 800).
        Assert.Equal(("gpt-4o", 0.7f, 800), (first.ModelId, first.Temperature, first.MaxOutputTokens));
        Assert.IsType<ChatResponseFormatJson>(first.ResponseFormat);
        var second = anthropic.Options.Single()!;
        Assert.Equal(("claude", 0.3f, 600), (second.ModelId, second.Temperature, second.MaxOutputTokens));
        Assert.Null(second.ResponseFormat);
    }

    [Fact]
    public async Task An_open_circuit_is_skipped_without_a_call_and_recorded()
    {
        var openai = new FakeProvider(_ => Answer("openai"));
        var harness = new FailoverHarness(openai, new FakeProvider(_ => Answer("anthropic")));
        harness.Open("openai", DateTimeOffset.UtcNow.AddMinutes(1));
        var context = Context();

        var response = await harness.SendAsync(context);

        Assert.Equal("anthropic", response.Text);
        Assert.Equal(0, openai.Calls);
        Assert.Equal(0, harness.HealthGrain.Acquired);
        var skipped = context.Attempts[0];
        Assert.Equal((1, "openai", "gpt-4o", AttemptOutcome.CircuitOpen, 0.0, 0m), (skipped.Attempt, skipped.Provider, skipped.Model, skipped.Outcome, skipped.LatencyMs, skipped.CostUsd));
        Assert.Equal(2, context.Attempts[1].Attempt);
    }

    [Fact]
    public async Task A_half_open_circuit_is_called_only_with_a_probe_permit()
    {
        var openai = new FakeProvider(options => Answer(GatewayCallContext.IsProbe(options) ? "probe" : "plain"));
        var harness = new FailoverHarness(openai, new FakeProvider(_ => Answer("anthropic")));
        harness.Open("openai", DateTimeOffset.UtcNow.AddSeconds(-1));

        Assert.Equal("probe", (await harness.SendAsync(Context())).Text);

        harness.HealthGrain.Grant = false;
        harness.Open("openai", DateTimeOffset.UtcNow.AddSeconds(-1));
        var refused = Context();
        Assert.Equal("anthropic", (await harness.SendAsync(refused)).Text);
        Assert.Equal(AttemptOutcome.CircuitOpen, refused.Attempts[0].Outcome);
        Assert.Equal(1, openai.Calls);
        Assert.Equal(2, harness.HealthGrain.Acquired);
        Assert.Equal(0, harness.HealthGrain.Released);
    }

    [Fact]
    public async Task A_probe_refused_by_the_budget_gives_its_permit_back_and_ends_the_request()
    {
        var anthropic = new FakeProvider(_ => Answer());
        var harness = new FailoverHarness(new FakeProvider(_ => throw new BudgetExhaustedException("2026-11", 0.5m, 0.1m, dailyCap: false)), anthropic);
        harness.Open("openai", DateTimeOffset.UtcNow.AddSeconds(-1));
        var context = Context();

        await Assert.ThrowsAsync<BudgetExhaustedException>(() => harness.SendAsync(context));

        Assert.Equal(1, harness.HealthGrain.Released);
        Assert.Equal(0, anthropic.Calls);
        Assert.Equal(AttemptOutcome.BudgetExhausted, Assert.Single(context.Attempts).Outcome);
    }

    [Fact]
    public async Task A_gateway_error_gives_a_probe_permit_back_too_but_records_no_attempt()
    {
        var harness = new FailoverHarness(new FakeProvider(_ => throw new MissingPriceException("gpt-9")), new FakeProvider(_ => Answer()));
        harness.Open("openai", DateTimeOffset.UtcNow.AddSeconds(-1));
        var context = Context();

        await Assert.ThrowsAsync<MissingPriceException>(() => harness.SendAsync(context));

        Assert.Equal(1, harness.HealthGrain.Released);
        Assert.Empty(context.Attempts);
    }

    [Fact]
    public async Task With_less_than_the_minimum_attempt_time_left_no_attempt_starts_and_a_probe_permit_goes_back()
    {
        var openai = new FakeProvider(_ => Answer());
        var harness = new FailoverHarness(openai, new FakeProvider(_ => Answer()));
        harness.Open("openai", DateTimeOffset.UtcNow.AddSeconds(-1));
        var context = Context(deadline: ProviderFailoverChatClient.MinimumAttemptTime - TimeSpan.FromMilliseconds(10));

        await Assert.ThrowsAsync<DeadlineExceededException>(() => harness.SendAsync(context));

        Assert.Equal(0, openai.Calls);
        Assert.Equal(1, harness.HealthGrain.Released);
    }

    [Fact]
    public async Task An_attempt_is_cut_off_at_the_providers_attempt_timeout_when_that_comes_before_the_deadline()
    {
        var settings = new ProvidersOptions();
        settings.OpenAI.AttemptTimeoutMs = 100;
        var hung = new FakeProvider(async (_, token) =>
        {
            await Task.Delay(Timeout.Infinite, token);
            return Answer();
        });
        var harness = new FailoverHarness(Boundary(hung), new FakeProvider(_ => Answer("anthropic")), settings);
        var started = DateTime.UtcNow;

        var response = await harness.SendAsync(Context(deadline: TimeSpan.FromSeconds(10)));

        Assert.Equal("anthropic", response.Text);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "a 100 ms attempt timeout must not wait for the 10 s deadline");
    }

    [Fact]
    public async Task The_request_deadline_cutting_an_attempt_ends_the_request_and_records_the_attempt()
    {
        var hung = new FakeProvider(async (_, token) =>
        {
            await Task.Delay(Timeout.Infinite, token);
            return Answer();
        });
        var anthropic = new FakeProvider(_ => Answer());
        var harness = new FailoverHarness(Boundary(hung), anthropic);
        var context = Context(deadline: TimeSpan.FromSeconds(10));
        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => harness.SendAsync(context, deadline.Token));

        Assert.Equal(0, anthropic.Calls);
        Assert.Equal(AttemptOutcome.Timeout, Assert.Single(context.Attempts).Outcome);
    }

    [Fact]
    public async Task A_rate_limited_provider_is_tried_again_after_its_retry_after_when_everything_failed_and_it_fits()
    {
        var calls = 0;
        var openai = new FakeProvider(_ => ++calls == 1 ? throw Failure(ProviderCallKind.RateLimited, TimeSpan.FromMilliseconds(100)) : Answer("second try"));
        var anthropic = new FakeProvider(_ => throw Failure(ProviderCallKind.RateLimited, TimeSpan.FromMilliseconds(50)));
        var harness = new FailoverHarness(openai, anthropic);
        var context = Context();

        var started = DateTime.UtcNow;
        var response = await harness.SendAsync(context);

        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(90), "the retry waits for the Retry-After");
        Assert.Equal("second try", response.Text); // the first rate-limited provider is the one tried again
        Assert.Equal([AttemptOutcome.RateLimited, AttemptOutcome.RateLimited, AttemptOutcome.Success], context.Attempts.Select(a => a.Outcome));
        Assert.Equal(1, anthropic.Calls);
    }

    [Fact]
    public async Task A_retry_after_that_does_not_fit_the_deadline_is_not_waited_for()
    {
        var openai = new FakeProvider(_ => throw Failure(ProviderCallKind.RateLimited, TimeSpan.FromSeconds(30)));
        var harness = new FailoverHarness(openai, new FakeProvider(_ => throw Failure(ProviderCallKind.ServerError)));

        var error = await Assert.ThrowsAsync<NoProviderAvailableException>(() => harness.SendAsync(Context()));

        Assert.Equal(1, openai.Calls);
        Assert.Equal(ProviderFailoverChatClient.DefaultRetryAfter, error.RetryAfter);
    }

    [Fact]
    public async Task A_server_error_with_a_retry_after_is_not_tried_again()
    {
        var openai = new FakeProvider(_ => throw Failure(ProviderCallKind.ServerError, TimeSpan.FromMilliseconds(10)));
        var harness = new FailoverHarness(openai, new FakeProvider(_ => throw Failure(ProviderCallKind.ServerError)));

        await Assert.ThrowsAsync<NoProviderAvailableException>(() => harness.SendAsync(Context()));

        Assert.Equal(1, openai.Calls);
    }

    [Fact]
    public async Task When_every_provider_fails_retry_after_is_the_earliest_open_circuits_probe()
    {
        var harness = new FailoverHarness(new FakeProvider(_ => Answer()), new FakeProvider(_ => throw Failure(ProviderCallKind.ServerError)));
        harness.Open("openai", DateTimeOffset.UtcNow.AddSeconds(20));

        var error = await Assert.ThrowsAsync<NoProviderAvailableException>(() => harness.SendAsync(Context()));

        Assert.InRange(error.RetryAfter, TimeSpan.FromSeconds(18), TimeSpan.FromSeconds(20));
        Assert.Equal([AttemptOutcome.CircuitOpen, AttemptOutcome.ServerError], error.Attempts.Select(a => a.Outcome));
    }

    [Fact]
    public async Task Attempts_record_what_was_charged_and_for_which_model()
    {
        var failure = Failure(ProviderCallKind.MalformedResponse);
        failure.Charge = new GatewayResponse.Charge("gpt-4o-mini", 0.002m);
        failure.Downgraded = true;
        var answer = Answer();
        answer.SetCharge("claude-haiku", 0.003m);
        var harness = new FailoverHarness(new FakeProvider(_ => throw failure), new FakeProvider(_ => answer));
        var context = Context();

        await harness.SendAsync(context);

        Assert.Equal(("gpt-4o-mini", 0.002m, true), (context.Attempts[0].Model, context.Attempts[0].CostUsd, context.Attempts[0].Downgraded));
        Assert.Equal(("claude-haiku", 0.003m), (context.Attempts[1].Model, context.Attempts[1].CostUsd));
        Assert.Equal([800, 600], context.Attempts.Select(a => a.MaxOutputTokens));
    }

    [Fact]
    public async Task An_attempt_without_a_charge_records_the_configured_model_and_no_cost()
    {
        var context = Context();
        await new FailoverHarness(new FakeProvider(_ => Answer()), new FakeProvider(_ => Answer())).SendAsync(context);

        Assert.Equal(("gpt-4o", 0m), (Assert.Single(context.Attempts).Model, context.Attempts[0].CostUsd));
    }

    [Fact]
    public async Task Only_attempts_after_the_first_count_as_failovers()
    {
        var meters = TestDoubles.Meters();
        using var failovers = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "navigator.failovers");
        var harness = new FailoverHarness(new FakeProvider(_ => throw Failure(ProviderCallKind.ServerError)), new FakeProvider(_ => Answer()), meters: meters);

        await harness.SendAsync(Context());
        await harness.SendAsync(Context(order: ["anthropic", "openai"]));

        Assert.Equal(["anthropic"], failovers.GetMeasurementSnapshot().Select(m => (string)m.Tags["provider"]!));
    }

    [Fact]
    public async Task Providers_missing_from_the_clients_or_the_feature_version_are_skipped()
    {
        var openai = new FakeProvider(_ => Answer("openai"));
        var harness = new FailoverHarness(openai, new FakeProvider(_ => Answer("anthropic")));
        var onlyAnthropic = Context().Settings with
        {
            Providers = new Dictionary<string, Navigator.Grains.PromptConfig.ProviderModelSettings> { ["anthropic"] = new("claude", 0.3f, 600) },
        };

        Assert.Equal("anthropic", (await harness.SendAsync(Context(settings: onlyAnthropic))).Text);
        Assert.Equal("anthropic", (await harness.SendAsync(Context(order: ["mistral", "anthropic"]))).Text);
        Assert.Equal(0, openai.Calls);
    }

    [Fact]
    public void It_offers_itself_as_a_service_and_does_not_stream()
    {
        var client = new FailoverHarness(new FakeProvider(_ => Answer()), new FakeProvider(_ => Answer())).Client;

        Assert.Same(client, client.GetService(typeof(ProviderFailoverChatClient)));
        Assert.Same(client, client.GetService(typeof(IChatClient)));
        Assert.Null(client.GetService(typeof(ProviderFailoverChatClient), "key"));
        Assert.Null(client.GetService(typeof(string)));
        Assert.Contains("does not stream", Assert.Throws<NotSupportedException>(() => client.GetStreamingResponseAsync([])).Message, StringComparison.Ordinal);
    }
}
