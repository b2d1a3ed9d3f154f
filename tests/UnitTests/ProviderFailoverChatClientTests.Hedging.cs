using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;
using Navigator.Grains.Providers;

namespace Navigator.UnitTests;

/// <summary>
/// Hedging (Polly's hedging strategy inside the failover layer), on the fake clock: when the second provider starts
/// while the first still runs, who wins, what the loser is recorded and reported as, and when no hedge starts.
/// </summary>
public sealed partial class ProviderFailoverChatClientTests
{
    [Fact]
    public async Task A_primary_slower_than_the_hedging_delay_is_hedged_and_the_cancelled_loser_is_not_reported_to_its_circuit()
    {
        var rig = new Rig();
        // A delay of 30 s on the gateway's (fake) clock: were the hedge timed by the machine's clock, it would not start
        // within this test's 5 s.
        rig.Settings.Hedging.DelayMs = 30_000;
        rig.Settings.OpenAI.AttemptTimeoutMs = 60_000;
        var reporter = new ProviderOutcomeReporter(TestDoubles.Grains(), NullLogger<ProviderOutcomeReporter>.Instance);
        var loserToken = CancellationToken.None;
        var openai = new FakeProvider(async (_, token) =>
        {
            loserToken = token;
            await Task.Delay(Timeout.Infinite, token);
            return Failovers.Answer(OpenAI);
        });
        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));
        using var hedges = new MetricCollector<long>(rig.Meters, GatewayMetrics.MeterName, "navigator.hedges");
        var context = rig.Context(TimeSpan.FromMinutes(1));

        var asking = rig.AskAsync(rig.Client(new HealthReportingChatClient(openai, reporter, rig.Clock), anthropic), context);
        await WaitUntilAsync(() => openai.Calls == 1);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(29_999));
        await Task.Delay(100);
        Assert.Equal(0, anthropic.Calls); // not before the delay

        rig.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var response = await asking.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(Anthropic, response.Text);
        Assert.True(loserToken.IsCancellationRequested, "the loser was not cancelled");
        Assert.Equal([(1, OpenAI, "gpt-4o", AttemptOutcome.Superseded), (2, Anthropic, "claude", AttemptOutcome.Success)], Summary(context));
        // Cancelled by the gateway, not failed by OpenAI: its circuit hears nothing of it.
        Assert.Empty(reporter.Pending(OpenAI));
        Assert.Equal([(1L, Anthropic)], hedges.GetMeasurementSnapshot().Select(m => (m.Value, (string)m.Tags["provider"]!)));
    }

    [Theory]
    [InlineData(400, 400)]    // the recent p95 comes before the 1,000 ms delay
    [InlineData(10, 250)]     // but never under minDelayMs
    [InlineData(5_000, 1_000)] // the delay comes before a slow p95
    public async Task The_hedge_starts_at_the_primarys_recent_p95_or_the_delay_whichever_is_earlier(int p95Ms, int expectedMs)
    {
        var rig = new Rig();
        rig.Settings.Hedging.DelayMs = 1000;
        rig.Settings.Hedging.MinDelayMs = 250;
        for (var i = 0; i < RecentLatencies.MinimumSamples; i++)
        {
            rig.Latencies.Record(OpenAI, p95Ms);
        }

        var primary = new TaskCompletionSource<ChatResponse>();
        var openai = new FakeProvider((_, token) => primary.Task.WaitAsync(token));
        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));
        var context = rig.Context();

        var asking = rig.AskAsync(rig.Client(openai, anthropic), context);
        await WaitUntilAsync(() => openai.Calls == 1);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(expectedMs - 1));
        await Task.Delay(100);
        Assert.Equal(0, anthropic.Calls);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(Anthropic, (await asking.WaitAsync(TimeSpan.FromSeconds(5))).Text);
    }

    [Fact]
    public async Task The_loser_is_recorded_with_what_the_budget_layer_charged_it()
    {
        var rig = new Rig();
        rig.Settings.Hedging.DelayMs = 500;
        // What BudgetChatClient does to an attempt cut off: the whole reservation, on the provider's failure.
        var openai = new FakeProvider(async (_, token) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            catch (OperationCanceledException cancelled)
            {
                throw new ProviderCallException(ProviderCallKind.Timeout, null, null, cancelled) { Charge = new GatewayResponse.Charge("gpt-4o-2024", 0.0123m) };
            }

            return Failovers.Answer(OpenAI);
        });
        var context = rig.Context();

        var asking = rig.AskAsync(rig.Client(openai, new FakeProvider(_ => Failovers.Answer(Anthropic))), context);
        await WaitUntilAsync(() => openai.Calls == 1);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(500));
        await asking.WaitAsync(TimeSpan.FromSeconds(5));

        var loser = context.Attempts[0];
        Assert.Equal(("gpt-4o-2024", AttemptOutcome.Superseded, 0.0123m), (loser.Model, loser.Outcome, loser.CostUsd));
    }

    [Fact]
    public async Task A_hedge_starts_with_exactly_minAttemptMs_left_before_the_deadline()
    {
        var rig = new Rig();
        rig.Settings.Hedging.DelayMs = 1000;
        rig.Settings.Hedging.MinAttemptMs = 500;
        var primary = new TaskCompletionSource<ChatResponse>();
        var openai = new FakeProvider((_, token) => primary.Task.WaitAsync(token));
        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));
        var context = rig.Context(TimeSpan.FromMilliseconds(1500));

        var asking = rig.AskAsync(rig.Client(openai, anthropic), context);
        await WaitUntilAsync(() => openai.Calls == 1);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(1000));

        Assert.Equal(Anthropic, (await asking.WaitAsync(TimeSpan.FromSeconds(5))).Text);
    }

    [Fact]
    public async Task Answers_feed_the_recent_p95_that_times_the_hedge()
    {
        var rig = new Rig();
        var client = rig.Client(new FakeProvider(_ => Failovers.Answer(OpenAI)), new FakeProvider(_ => Failovers.Answer(Anthropic)));
        for (var i = 0; i < RecentLatencies.MinimumSamples; i++)
        {
            await rig.AskAsync(client, rig.Context());
        }

        Assert.NotNull(rig.Latencies.P95(OpenAI));
        Assert.Null(rig.Latencies.P95(Anthropic)); // never called
    }

    [Fact]
    public async Task A_request_whose_providers_are_all_unknown_gets_no_provider_available()
    {
        var rig = new Rig();
        var context = Failovers.Context(rig.Clock.GetUtcNow(), order: ["gemini"]);

        await Assert.ThrowsAsync<NoProviderAvailableException>(() =>
            rig.AskAsync(rig.Client(new FakeProvider(_ => Failovers.Answer(OpenAI)), new FakeProvider(_ => Failovers.Answer(Anthropic))), context));

        Assert.Empty(context.Attempts);
    }

    [Fact]
    public async Task When_the_primary_answers_first_the_hedge_is_the_loser()
    {
        var rig = new Rig();
        rig.Settings.Hedging.DelayMs = 500;
        var primary = new TaskCompletionSource<ChatResponse>();
        var openai = new FakeProvider((_, token) => primary.Task.WaitAsync(token));
        var anthropic = new FakeProvider(async (_, token) =>
        {
            await Task.Delay(Timeout.Infinite, token);
            return Failovers.Answer(Anthropic);
        });
        var context = rig.Context();

        var asking = rig.AskAsync(rig.Client(openai, rig.Boundary(anthropic)), context);
        await WaitUntilAsync(() => openai.Calls == 1);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(500));
        await WaitUntilAsync(() => anthropic.Calls == 1);
        primary.SetResult(Failovers.Answer(OpenAI));

        Assert.Equal(OpenAI, (await asking.WaitAsync(TimeSpan.FromSeconds(5))).Text);
        Assert.Equal([(1, OpenAI, "gpt-4o", AttemptOutcome.Success), (2, Anthropic, "claude", AttemptOutcome.Superseded)], Summary(context));
    }

    public enum NoHedge
    {
        Disabled,
        NextCircuitOpen,
        PrimaryIsAProbe,
        DeadlineTooClose,
    }

    [Theory]
    [InlineData(NoHedge.Disabled)]
    [InlineData(NoHedge.NextCircuitOpen)]
    [InlineData(NoHedge.PrimaryIsAProbe)]
    [InlineData(NoHedge.DeadlineTooClose)]
    public async Task No_hedge_starts_when_hedging_is_off_a_circuit_is_not_closed_or_the_deadline_is_too_close(NoHedge reason)
    {
        var rig = new Rig();
        rig.Settings.Hedging.DelayMs = 1000;
        rig.Settings.Hedging.MinAttemptMs = 500;
        var deadline = TimeSpan.FromSeconds(3);
        switch (reason)
        {
            case NoHedge.Disabled:
                rig.Settings.Hedging.Enabled = false;
                break;
            case NoHedge.NextCircuitOpen:
                rig.Circuits.Apply(Open(Anthropic, rig.Clock.GetUtcNow().AddSeconds(30)));
                break;
            case NoHedge.PrimaryIsAProbe:
                rig.HalfOpen(OpenAI);
                break;
            case NoHedge.DeadlineTooClose:
                deadline = TimeSpan.FromMilliseconds(1499); // 1,000 ms alone would leave 499 ms for the hedge
                break;
        }

        var primary = new TaskCompletionSource<ChatResponse>();
        var openai = new FakeProvider((_, token) => primary.Task.WaitAsync(token));
        var anthropic = new FakeProvider(_ => Failovers.Answer(Anthropic));
        var context = rig.Context(deadline);

        var asking = rig.AskAsync(rig.Client(openai, anthropic), context);
        await WaitUntilAsync(() => openai.Calls == 1);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(1200));
        await Task.Delay(100);
        primary.SetResult(Failovers.Answer(OpenAI));

        Assert.Equal(OpenAI, (await asking.WaitAsync(TimeSpan.FromSeconds(5))).Text);
        Assert.Equal(0, anthropic.Calls);
        Assert.Equal([(1, OpenAI, "gpt-4o", AttemptOutcome.Success)], Summary(context));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_hedge_the_budget_refuses_lets_the_primary_go_on_and_ends_the_request_only_if_the_primary_fails(bool primaryAnswers)
    {
        var rig = new Rig();
        rig.Settings.Hedging.DelayMs = 500;
        var refused = new BudgetExhaustedException("2026-11", 0.01m, 0m, dailyCap: false);
        var primary = new TaskCompletionSource<ChatResponse>();
        var openai = new FakeProvider((_, token) => primary.Task.WaitAsync(token));
        var anthropic = new FakeProvider(_ => throw refused);
        var context = rig.Context();

        var asking = rig.AskAsync(rig.Client(openai, anthropic), context);
        await WaitUntilAsync(() => openai.Calls == 1);
        rig.Clock.Advance(TimeSpan.FromMilliseconds(500));
        await WaitUntilAsync(() => anthropic.Calls == 1);
        await Task.Delay(50);
        Assert.False(asking.IsCompleted, "the hedge's refusal ended the request while the primary ran");
        if (primaryAnswers)
        {
            primary.SetResult(Failovers.Answer(OpenAI));
            Assert.Equal(OpenAI, (await asking.WaitAsync(TimeSpan.FromSeconds(5))).Text);
        }
        else
        {
            primary.SetException(ServerError());
            Assert.Same(refused, await Assert.ThrowsAsync<BudgetExhaustedException>(() => asking.WaitAsync(TimeSpan.FromSeconds(5))));
        }

        Assert.Equal(
            [(1, OpenAI, "gpt-4o", primaryAnswers ? AttemptOutcome.Success : AttemptOutcome.ServerError), (2, Anthropic, "claude", AttemptOutcome.BudgetExhausted)],
            Summary(context));
    }

    [Fact]
    public void The_recent_p95_needs_enough_answers_and_follows_the_latest_window()
    {
        var latencies = new RecentLatencies();
        for (var i = 0; i < RecentLatencies.MinimumSamples - 1; i++)
        {
            latencies.Record(OpenAI, 100);
        }

        Assert.Null(latencies.P95(OpenAI));
        latencies.Record(OpenAI, 100);
        Assert.Equal(TimeSpan.FromMilliseconds(100), latencies.P95(OpenAI));

        // A whole window of slower answers replaces the old ones.
        for (var i = 0; i < RecentLatencies.Window; i++)
        {
            latencies.Record(OpenAI, 1 + i);
        }

        Assert.InRange(latencies.P95(OpenAI)!.Value.TotalMilliseconds, 240, 246);
        Assert.Null(latencies.P95(Anthropic));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "timed out waiting");
            await Task.Delay(5);
        }
    }
}
