using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;
using Navigator.Grains.PromptConfig;
using Navigator.Grains.Providers;

namespace Navigator.UnitTests;

/// <summary>
/// The failover layer on a fake clock: which providers it calls and how (circuits, probe permits, the
/// deadline, each attempt's timeout and model settings), the rate-limited retry, what it records of
/// each attempt and what it answers when no provider could.
/// </summary>
public sealed partial class ProviderFailoverChatClientTests
{
    private const string OpenAI = ProviderNames.OpenAI;
    private const string Anthropic = ProviderNames.Anthropic;

    [Fact]
    public async Task An_open_circuit_is_skipped_without_a_call_and_recorded_as_circuit_open()
    {
        var rig = new Rig();
        rig.Circuits.Apply(Open(OpenAI, rig.Clock.GetUtcNow().AddSeconds(10)));
        var openai = new FakeProvider(_ => Failovers.Answer(OpenAI));
        var context = rig.Context();

        var response = await rig.AskAsync(rig.Client(openai, new FakeProvider(_ => Failovers.Answer(Anthropic))), context);

        Assert.Equal(Anthropic, response.Text);
        Assert.Equal(0, openai.Calls);
        Assert.Equal([(1, OpenAI, "gpt-4o", AttemptOutcome.CircuitOpen), (2, Anthropic, "claude", AttemptOutcome.Success)], Summary(context));
        Assert.Equal(0, rig.Health.Acquired);
    }

    [Fact]
    public async Task A_half_open_circuit_is_called_as_a_probe_with_one_of_the_clusters_permits()
    {
        var rig = new Rig();
        rig.HalfOpen(OpenAI);
        var openai = new FakeProvider(_ => Failovers.Answer(OpenAI));
        var context = rig.Context();

        var response = await rig.AskAsync(rig.Client(openai, new FakeProvider(_ => Failovers.Answer(Anthropic))), context);

        Assert.Equal(OpenAI, response.Text);
        Assert.True(GatewayCallContext.IsProbe(Assert.Single(openai.Options)));
        Assert.Equal(1, rig.Health.Acquired);
        Assert.Equal(0, rig.Health.Released); // the probe's outcome returns it
        Assert.Equal([(1, OpenAI, "gpt-4o", AttemptOutcome.Success)], Summary(context));
    }

    [Fact]
    public async Task A_half_open_circuit_without_a_permit_left_is_skipped_like_an_open_one()
    {
        var rig = new Rig();
        rig.HalfOpen(OpenAI);
        rig.Health.Grants = false;
        var openai = new FakeProvider(_ => Failovers.Answer(OpenAI));
        var context = rig.Context();

        var response = await rig.AskAsync(rig.Client(openai, new FakeProvider(_ => Failovers.Answer(Anthropic))), context);

        Assert.Equal(Anthropic, response.Text);
        Assert.Equal(0, openai.Calls);
        Assert.Equal(1, rig.Health.Acquired);
        Assert.Equal([(1, OpenAI, "gpt-4o", AttemptOutcome.CircuitOpen), (2, Anthropic, "claude", AttemptOutcome.Success)], Summary(context));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_budget_refusal_ends_the_request_and_returns_an_unused_probe_permit_at_once(bool probe)
    {
        var rig = new Rig();
        if (probe)
        {
            rig.HalfOpen(OpenAI);
        }

        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));
        var refused = new BudgetExhaustedException("2026-11", 0.01m, 0m, dailyCap: false);
        var context = rig.Context();

        var thrown = await Assert.ThrowsAsync<BudgetExhaustedException>(() => rig.AskAsync(rig.Client(new FakeProvider(_ => throw refused), anthropic), context));

        Assert.Same(refused, thrown);
        Assert.Equal(0, anthropic.Calls);
        Assert.Equal(probe ? 1 : 0, rig.Health.Released);
        var attempt = Assert.Single(context.Attempts);
        Assert.Equal((OpenAI, AttemptOutcome.BudgetExhausted, 0m, 800), (attempt.Provider, attempt.Outcome, attempt.CostUsd, attempt.MaxOutputTokens));
    }

    [Fact]
    public async Task A_probe_that_failed_at_the_provider_keeps_its_permit_for_the_failures_outcome_to_return()
    {
        var rig = new Rig();
        rig.HalfOpen(OpenAI);
        var context = rig.Context();

        var response = await rig.AskAsync(rig.Client(new FakeProvider(_ => throw ServerError()), new FakeProvider(_ => Failovers.Answer(Anthropic))), context);

        Assert.Equal(Anthropic, response.Text);
        Assert.Equal(0, rig.Health.Released);
        Assert.Equal([(1, OpenAI, "gpt-4o", AttemptOutcome.ServerError), (2, Anthropic, "claude", AttemptOutcome.Success)], Summary(context));
    }

    [Fact]
    public async Task An_attempt_starts_with_50_ms_left_before_the_deadline()
    {
        var rig = new Rig();
        var context = rig.Context(ProviderFailoverChatClient.MinimumAttemptTime);

        var response = await rig.AskAsync(rig.Client(new FakeProvider(_ => Failovers.Answer(OpenAI)), new FakeProvider(_ => Failovers.Answer(Anthropic))), context);

        Assert.Equal(OpenAI, response.Text);
    }

    [Fact]
    public async Task With_less_than_50_ms_left_the_request_ends_at_its_deadline_and_a_probe_permit_goes_back()
    {
        var rig = new Rig();
        rig.HalfOpen(OpenAI);
        var openai = new FakeProvider(_ => Failovers.Answer(OpenAI));
        var context = rig.Context(ProviderFailoverChatClient.MinimumAttemptTime - TimeSpan.FromTicks(1));

        await Assert.ThrowsAsync<DeadlineExceededException>(() => rig.AskAsync(rig.Client(openai, new FakeProvider(_ => Failovers.Answer(Anthropic))), context));

        Assert.Equal(0, openai.Calls);
        Assert.Equal(1, rig.Health.Released);
        Assert.Empty(context.Attempts);
    }

    [Theory]
    [InlineData(50, 60_000)]     // the provider's attempt timeout comes first
    [InlineData(60_000, 100)]    // the request's deadline comes first
    public async Task An_attempt_is_cut_off_at_its_providers_timeout_or_the_deadline_whichever_is_sooner(int attemptTimeoutMs, int deadlineMs)
    {
        var rig = new Rig();
        rig.Settings.OpenAI.AttemptTimeoutMs = attemptTimeoutMs;
        var hanging = new FakeProvider(async (_, token) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), token);
            return Failovers.Answer("too late");
        });
        var context = rig.Context(TimeSpan.FromMilliseconds(deadlineMs));
        var elapsed = Stopwatch.StartNew();

        var response = await rig.AskAsync(rig.Client(rig.Boundary(hanging), new FakeProvider(_ => Failovers.Answer(Anthropic))), context);

        Assert.Equal(Anthropic, response.Text);
        Assert.Equal([(1, OpenAI, "gpt-4o", AttemptOutcome.Timeout), (2, Anthropic, "claude", AttemptOutcome.Success)], Summary(context));
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(5), $"cut off after {elapsed.Elapsed}");
    }

    [Fact]
    public async Task Each_attempt_gets_its_models_settings_the_lower_output_cap_and_json_mode_on_openai_only()
    {
        var rig = new Rig();
        var openai = new FakeProvider(_ => throw ServerError());
        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));
        var context = rig.Context();

        await rig.AskAsync(rig.Client(openai, anthropic), context);

        var first = Assert.Single(openai.Options)!;
        Assert.Equal(("gpt-4o", 0.7f, 800), (first.ModelId, first.Temperature, first.MaxOutputTokens)); // model cap 800 < feature 1,000
        Assert.Same(ChatResponseFormat.Json, first.ResponseFormat);
        Assert.Equal((OpenAI, 1), GatewayCallContext.AttemptOf(first));
        Assert.False(GatewayCallContext.IsProbe(first));
        var second = Assert.Single(anthropic.Options)!;
        Assert.Equal(("claude", 0.3f, 1000), (second.ModelId, second.Temperature, second.MaxOutputTokens)); // feature cap 1,000 < model 1,200
        Assert.Null(second.ResponseFormat);
        Assert.Equal((Anthropic, 2), GatewayCallContext.AttemptOf(second));
        // Without a charge on the answer, the record names the feature's model at no cost.
        Assert.Equal([("gpt-4o", 0m, 800), ("claude", 0m, 1000)], context.Attempts.Select(a => (a.Model, a.CostUsd, a.MaxOutputTokens)));
    }

    [Fact]
    public async Task Each_attempt_records_the_model_billed_its_cost_and_a_downgrade()
    {
        var rig = new Rig();
        var failure = ServerError();
        failure.Charge = new GatewayResponse.Charge("gpt-4o-mini", 0.004m);
        failure.Downgraded = true;
        var answer = Failovers.Answer(Anthropic);
        answer.SetCharge("claude-haiku", 0.0123m);
        answer.SetDowngraded();
        var context = rig.Context();

        await rig.AskAsync(rig.Client(new FakeProvider(_ => throw failure), new FakeProvider(_ => answer)), context);

        Assert.Equal(
            [("gpt-4o-mini", AttemptOutcome.ServerError, 0.004m, true), ("claude-haiku", AttemptOutcome.Success, 0.0123m, true)],
            context.Attempts.Select(a => (a.Model, a.Outcome, a.CostUsd, a.Downgraded)));
    }

    [Fact]
    public async Task A_rate_limited_provider_is_tried_again_after_its_Retry_After_once_every_provider_failed()
    {
        var rig = new Rig();
        var calledAt = new List<DateTimeOffset>();
        var openai = new FakeProvider(_ =>
        {
            calledAt.Add(rig.Clock.GetUtcNow());
            return calledAt.Count == 1 ? throw RateLimited(TimeSpan.FromSeconds(1)) : Failovers.Answer(OpenAI);
        });
        var context = rig.Context();
        var start = rig.Clock.GetUtcNow();

        var call = rig.AskAsync(rig.Client(openai, new FakeProvider(_ => throw ServerError())), context);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(call.IsCompleted);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var response = await call.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(OpenAI, response.Text);
        Assert.Equal([start, start.AddSeconds(1)], calledAt);
        Assert.Equal(
            [(1, OpenAI, "gpt-4o", AttemptOutcome.RateLimited), (2, Anthropic, "claude", AttemptOutcome.ServerError), (3, OpenAI, "gpt-4o", AttemptOutcome.Success)],
            Summary(context));
    }

    [Fact]
    public async Task The_first_rate_limited_provider_is_the_one_tried_again()
    {
        var rig = new Rig();
        var openai = new FakeProvider(_ => throw RateLimited(TimeSpan.FromSeconds(2)));
        var anthropic = new FakeProvider(_ => throw RateLimited(TimeSpan.FromSeconds(1)));
        var context = rig.Context();

        var call = rig.AskAsync(rig.Client(openai, anthropic), context);
        rig.Clock.Advance(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAsync<NoProviderAvailableException>(() => call.WaitAsync(TimeSpan.FromSeconds(5)));

        Assert.Equal((2, 1), (openai.Calls, anthropic.Calls));
        Assert.Equal([OpenAI, Anthropic, OpenAI], context.Attempts.Select(a => a.Provider));
    }

    [Theory]
    [InlineData(1050, true)]  // after the 1 s wait, 50 ms are left: enough for an attempt
    [InlineData(1049, false)]
    public async Task A_Retry_After_is_waited_for_only_when_an_attempt_still_fits_the_deadline_after_it(int deadlineMs, bool retried)
    {
        var rig = new Rig();
        var openai = new FakeProvider(_ => throw RateLimited(TimeSpan.FromSeconds(1)));
        var context = rig.Context(TimeSpan.FromMilliseconds(deadlineMs));

        var call = rig.AskAsync(rig.Client(openai, new FakeProvider(_ => throw ServerError())), context);
        Assert.Equal(retried, !call.IsCompleted);
        rig.Clock.Advance(TimeSpan.FromSeconds(1));
        var error = await Assert.ThrowsAsync<NoProviderAvailableException>(() => call.WaitAsync(TimeSpan.FromSeconds(5)));

        Assert.Equal(retried ? 2 : 1, openai.Calls);
        Assert.Equal(context.Attempts, error.Attempts);
    }

    [Fact]
    public async Task When_every_circuit_is_open_the_answer_says_to_come_back_when_the_first_one_lets_a_probe_through()
    {
        var rig = new Rig();
        var now = rig.Clock.GetUtcNow();
        rig.Circuits.Apply(Open(OpenAI, now.AddSeconds(12)));
        rig.Circuits.Apply(Open(Anthropic, now.AddSeconds(7)));
        var context = rig.Context();

        var error = await Assert.ThrowsAsync<NoProviderAvailableException>(() =>
            rig.AskAsync(rig.Client(new FakeProvider(_ => Failovers.Answer(OpenAI)), new FakeProvider(_ => Failovers.Answer(Anthropic))), context));

        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
        Assert.Equal([AttemptOutcome.CircuitOpen, AttemptOutcome.CircuitOpen], error.Attempts.Select(a => a.Outcome));
    }

    [Fact]
    public async Task A_provider_skipped_for_its_open_circuit_gets_one_last_resort_call_when_the_other_really_failed()
    {
        // Anthropic's circuit is still open from an earlier outage; OpenAI fails now. Anthropic has recovered.
        var rig = new Rig();
        rig.Circuits.Apply(Open(Anthropic, rig.Clock.GetUtcNow().AddSeconds(30)));
        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));
        var context = rig.Context();

        var response = await rig.AskAsync(rig.Client(new FakeProvider(_ => throw ServerError()), anthropic), context);

        Assert.Equal(Anthropic, response.Text);
        Assert.Equal(1, anthropic.Calls);
        Assert.Equal([(1, OpenAI, "gpt-4o", AttemptOutcome.ServerError), (2, Anthropic, "claude", AttemptOutcome.CircuitOpen), (3, Anthropic, "claude", AttemptOutcome.Success)], Summary(context));
        Assert.Equal(0, rig.Health.Acquired); // not a probe: the open breaker is not asked, and its outcome will not move it
    }

    [Fact]
    public async Task The_last_resort_goes_to_a_provider_that_was_only_skipped_never_to_one_that_also_failed()
    {
        // OpenAI answers 429 and its circuit opens while the gateway waits out the Retry-After; Anthropic's circuit is
        // open throughout. OpenAI was really tried, so the last resort is Anthropic's.
        var rig = new Rig();
        rig.Circuits.Apply(Open(Anthropic, rig.Clock.GetUtcNow().AddSeconds(30)));
        var openai = new FakeProvider(_ =>
        {
            rig.Circuits.Apply(Open(OpenAI, rig.Clock.GetUtcNow().AddSeconds(30)));
            throw RateLimited(TimeSpan.FromSeconds(1));
        });
        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));
        var context = rig.Context();

        var call = rig.AskAsync(rig.Client(openai, anthropic), context);
        rig.Clock.Advance(TimeSpan.FromSeconds(1));
        var response = await call.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(Anthropic, response.Text);
        Assert.Equal((1, 1), (openai.Calls, anthropic.Calls));
        Assert.Equal(
            [AttemptOutcome.RateLimited, AttemptOutcome.CircuitOpen, AttemptOutcome.CircuitOpen, AttemptOutcome.Success],
            context.Attempts.Select(a => a.Outcome));
    }

    [Fact]
    public async Task A_provider_the_request_never_tried_gets_no_last_resort_call()
    {
        // OpenAI is not configured on this gateway (no attempt, no record); Anthropic answers 429 and its circuit opens
        // before the retry. Nothing was only skipped: no last resort, and no call to a provider this gateway lacks.
        var rig = new Rig();
        var anthropic = new FakeProvider(_ =>
        {
            rig.Circuits.Apply(Open(Anthropic, rig.Clock.GetUtcNow().AddSeconds(30)));
            throw RateLimited(TimeSpan.FromSeconds(1));
        });
        var context = rig.Context();

        var call = rig.AskAsync(rig.Client(null, anthropic), context);
        rig.Clock.Advance(TimeSpan.FromSeconds(1));
        var error = await Assert.ThrowsAsync<NoProviderAvailableException>(() => call.WaitAsync(TimeSpan.FromSeconds(5)));

        Assert.Equal(1, anthropic.Calls);
        Assert.Equal([AttemptOutcome.RateLimited, AttemptOutcome.CircuitOpen], error.Attempts.Select(a => a.Outcome));
    }

    [Theory]
    [InlineData(50, true)]
    [InlineData(49, false)]
    public async Task A_last_resort_call_starts_only_with_50_ms_left(int leftMs, bool called)
    {
        var rig = new Rig();
        rig.Circuits.Apply(Open(Anthropic, rig.Clock.GetUtcNow().AddSeconds(30)));
        var context = rig.Context(TimeSpan.FromSeconds(1));
        var openai = new FakeProvider(_ =>
        {
            // The failed attempt used the deadline up to what is left.
            rig.Clock.Advance(TimeSpan.FromSeconds(1) - TimeSpan.FromMilliseconds(leftMs));
            throw ServerError();
        });
        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));

        if (called)
        {
            Assert.Equal(Anthropic, (await rig.AskAsync(rig.Client(openai, anthropic), context)).Text);
        }
        else
        {
            await Assert.ThrowsAsync<NoProviderAvailableException>(() => rig.AskAsync(rig.Client(openai, anthropic), context));
        }

        Assert.Equal(called ? 1 : 0, anthropic.Calls);
    }

    [Fact]
    public async Task An_operators_forceOpen_gets_no_last_resort_call()
    {
        var rig = new Rig();
        rig.Circuits.Apply(Open(Anthropic, rig.Clock.GetUtcNow().AddSeconds(30)) with { Mode = CircuitMode.ForceOpen });
        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));
        var context = rig.Context();

        var error = await Assert.ThrowsAsync<NoProviderAvailableException>(() =>
            rig.AskAsync(rig.Client(new FakeProvider(_ => throw ServerError()), anthropic), context));

        Assert.Equal(0, anthropic.Calls);
        Assert.Equal([AttemptOutcome.ServerError, AttemptOutcome.CircuitOpen], error.Attempts.Select(a => a.Outcome));
    }

    [Fact]
    public async Task When_every_provider_failed_and_no_circuit_is_open_the_answer_says_to_come_back_in_five_seconds()
    {
        var rig = new Rig();
        var context = rig.Context();

        var error = await Assert.ThrowsAsync<NoProviderAvailableException>(() =>
            rig.AskAsync(rig.Client(new FakeProvider(_ => throw ServerError()), new FakeProvider(_ => throw ServerError())), context));

        Assert.Equal(ProviderFailoverChatClient.DefaultRetryAfter, error.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(5), error.RetryAfter);
        Assert.Equal([AttemptOutcome.ServerError, AttemptOutcome.ServerError], error.Attempts.Select(a => a.Outcome));
    }

    [Fact]
    public async Task Only_attempts_after_the_first_count_as_failovers()
    {
        var rig = new Rig();
        using var attempts = new MetricCollector<long>(rig.Meters, GatewayMetrics.MeterName, "navigator.provider.attempts");
        using var failovers = new MetricCollector<long>(rig.Meters, GatewayMetrics.MeterName, "navigator.failovers");
        using var hedges = new MetricCollector<long>(rig.Meters, GatewayMetrics.MeterName, "navigator.hedges");
        var failing = true;
        var client = rig.Client(new FakeProvider(_ => failing ? throw ServerError() : Failovers.Answer(OpenAI)), new FakeProvider(_ => Failovers.Answer(Anthropic)));

        await rig.AskAsync(client, rig.Context());
        failing = false;
        await rig.AskAsync(client, rig.Context());

        Assert.Equal(
            [(OpenAI, "server_error"), (Anthropic, "success"), (OpenAI, "success")],
            attempts.GetMeasurementSnapshot().Select(m => ((string)m.Tags["provider"]!, (string)m.Tags["outcome"]!)));
        var failover = Assert.Single(failovers.GetMeasurementSnapshot());
        Assert.Equal((1L, Anthropic), (failover.Value, (string)failover.Tags["provider"]!));
        Assert.Empty(hedges.GetMeasurementSnapshot()); // the second attempt started after the first failed: not a hedge
    }

    [Fact]
    public async Task A_request_cancelled_during_an_attempt_ends_there_with_the_attempt_recorded()
    {
        var rig = new Rig();
        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));
        var hanging = new FakeProvider(async (_, token) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), token);
            return Failovers.Answer("too late");
        });
        var context = rig.Context();
        using var cancel = new CancellationTokenSource();

        var call = rig.AskAsync(rig.Client(rig.Boundary(hanging), anthropic), context, cancel.Token);
        await cancel.CancelAsync();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        Assert.Equal(cancel.Token, error.CancellationToken);
        Assert.Equal(0, anthropic.Calls);
        Assert.Equal([(1, OpenAI, "gpt-4o", AttemptOutcome.Timeout)], Summary(context));
    }

    [Fact]
    public async Task Providers_missing_from_the_gateway_or_from_the_feature_are_skipped()
    {
        var rig = new Rig();
        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));
        var notConfigured = rig.Context();
        var notInFeature = Failovers.Context(rig.Clock.GetUtcNow(), models: new Dictionary<string, ProviderModelSettings> { [Anthropic] = Failovers.Models[Anthropic] });
        var openai = new FakeProvider(_ => Failovers.Answer(OpenAI));

        await rig.AskAsync(rig.Client(null, anthropic), notConfigured);
        await rig.AskAsync(rig.Client(openai, anthropic), notInFeature);

        Assert.Equal([(1, Anthropic, "claude", AttemptOutcome.Success)], Summary(notConfigured));
        Assert.Equal([(1, Anthropic, "claude", AttemptOutcome.Success)], Summary(notInFeature));
        Assert.Equal(0, openai.Calls);
    }

    [Fact]
    public void It_serves_its_own_type_without_a_key_and_does_not_stream()
    {
        var client = new Rig().Client(new FakeProvider(_ => Failovers.Answer()), null);

        Assert.Same(client, client.GetService(typeof(ProviderFailoverChatClient)));
        Assert.Same(client, client.GetService(typeof(IChatClient)));
        Assert.Null(client.GetService(typeof(IChatClient), serviceKey: "other"));
        Assert.Null(client.GetService(typeof(FakeProvider)));
        var error = Assert.Throws<NotSupportedException>(() => client.GetStreamingResponseAsync([]));
        Assert.Equal("The career-path pipeline does not stream.", error.Message);
    }

    private static IEnumerable<(int Attempt, string Provider, string Model, AttemptOutcome Outcome)> Summary(GatewayCallContext context) =>
        context.Attempts.Select(a => (a.Attempt, a.Provider, a.Model, a.Outcome));

    private static ProviderCallException ServerError() =>
        new(ProviderCallKind.ServerError, null, null, new HttpRequestException("upstream", null, System.Net.HttpStatusCode.InternalServerError));

    private static ProviderCallException RateLimited(TimeSpan retryAfter) =>
        new(ProviderCallKind.RateLimited, retryAfter, null, new HttpRequestException("slow down", null, System.Net.HttpStatusCode.TooManyRequests));

    private static CircuitSnapshot Open(string provider, DateTimeOffset until) =>
        new(provider, CircuitState.Open, CircuitMode.Auto, until, 10, 10, 10, 1.0, 0, 1, ProviderCallKind.ServerError, null, "failure rate", 1);

    /// <summary>A fake clock, this replica's circuit view over a fake health grain, and the failover client over given providers.</summary>
    private sealed class Rig
    {
        public Rig() => Circuits = Failovers.Circuits(TestDoubles.Grains(Health), Clock, Meters);

        public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 10, 12, 0, 0, TimeSpan.Zero));

        public IMeterFactory Meters { get; } = TestDoubles.Meters();

        public HealthGrain Health { get; } = new();

        public CircuitStateCache Circuits { get; }

        public ProvidersOptions Settings { get; } = new();

        public RecentLatencies Latencies { get; } = new();

        /// <summary>The provider's circuit has been open and its open period is over: the next call is a probe.</summary>
        public void HalfOpen(string provider)
        {
            Health.Snapshot = Open(provider, Clock.GetUtcNow());
            Circuits.Apply(Health.Snapshot);
        }

        public GatewayCallContext Context(TimeSpan? deadline = null) => Failovers.Context(Clock.GetUtcNow(), deadline);

        public ProviderFailoverChatClient Client(IChatClient? openai, IChatClient? anthropic)
        {
            var providers = new Dictionary<string, IChatClient>();
            if (openai is not null)
            {
                providers[OpenAI] = openai;
            }

            if (anthropic is not null)
            {
                providers[Anthropic] = anthropic;
            }

            return Failovers.Build(providers, Clock, Circuits, Settings, Meters, Latencies);
        }

        /// <summary>The real provider boundary around a fake provider: what it throws becomes a provider failure, a cancellation a timeout.</summary>
        public HealthReportingChatClient Boundary(IChatClient provider) =>
            new(provider, new ProviderOutcomeReporter(TestDoubles.Grains(), NullLogger<ProviderOutcomeReporter>.Instance), Clock);

        public Task<ChatResponse> AskAsync(ProviderFailoverChatClient client, GatewayCallContext context, CancellationToken cancellationToken = default) =>
            client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], context.Attach(new ChatOptions()), cancellationToken);
    }

    /// <summary>A provider's health grain as the failover sees it: probe permits granted or not, and counted.</summary>
    private sealed class HealthGrain : IProviderHealthGrain
    {
        private int _acquired;
        private int _released;

        public bool Grants { get; set; } = true;

        public CircuitSnapshot? Snapshot { get; set; }

        public int Acquired => Volatile.Read(ref _acquired);

        public int Released => Volatile.Read(ref _released);

        public Task<ProbePermit> TryAcquireProbeAsync()
        {
            Interlocked.Increment(ref _acquired);
            return Task.FromResult(new ProbePermit(Grants, Snapshot!));
        }

        public Task ReleaseProbeAsync()
        {
            Interlocked.Increment(ref _released);
            return Task.CompletedTask;
        }

        public Task RecordBatchAsync(IReadOnlyList<ProviderCallOutcome> outcomes) => throw new NotSupportedException();

        public Task<CircuitSnapshot> GetStatusAsync() => throw new NotSupportedException();

        public Task<CircuitSnapshot> SetModeAsync(CircuitMode mode, string actor) => throw new NotSupportedException();

        public Task<int> CountTripsAsync(DateTimeOffset since) => throw new NotSupportedException();

        public Task SubscribeAsync(ICircuitObserver observer) => throw new NotSupportedException();

        public Task UnsubscribeAsync(ICircuitObserver observer) => throw new NotSupportedException();
    }
}
