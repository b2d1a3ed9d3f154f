using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;
using Navigator.Grains.PromptConfig;
using Navigator.Grains.Providers;

namespace Navigator.UnitTests;

/// <summary>The budget layer around one attempt: what it reserves, and what it charges for each way an attempt ends.</summary>
public sealed class BudgetChatClientTests
{
    private const string Month = LedgerGrain.Month;

    // gpt-4o: $2.50 and $10 per million tokens. The prompt counts 1,000 tokens; max_tokens is 500.
    private static readonly ProvidersOptions Providers = new()
    {
        OpenAI = new ProviderSettings
        {
            InputTokenMargin = 1.05,
            ChatOverheadTokens = 12,
            Models = { ["gpt-4o"] = new ModelPrice { InputPerMillionUsd = 2.5m, OutputPerMillionUsd = 10m } },
        },
    };

    private static decimal Cost(long input, long output) => (input * 2.5m + output * 10m) / 1_000_000m;

    // 1,000 × 1.05 + 12 input tokens and the whole max_tokens.
    private static readonly decimal Reservation = Cost(1062, 500);

    [Fact]
    public async Task An_answer_is_charged_its_reported_usage()
    {
        var (client, ledger, leases) = Build(_ => Answer(input: 900, output: 300));

        var response = await client.GetResponseAsync([], Options());

        Assert.Equal(new GatewayResponse.Charge("gpt-4o", Cost(900, 300)), response.GetCharge());
        await leases.RefreshAsync(Month);
        Assert.Equal(Cost(900, 300), ledger.State.SpentUsd);
    }

    [Fact]
    public async Task An_answer_without_usage_or_with_part_of_it_is_charged_its_whole_reservation()
    {
        var (none, _, _) = Build(_ => new ChatResponse(new ChatMessage(ChatRole.Assistant, "{}")));
        var (inputOnly, _, _) = Build(_ => new ChatResponse(new ChatMessage(ChatRole.Assistant, "{}")) { Usage = new UsageDetails { InputTokenCount = 900 } });

        Assert.Equal(Reservation, (await none.GetResponseAsync([], Options())).GetCharge()!.CostUsd);
        Assert.Equal(Reservation, (await inputOnly.GetResponseAsync([], Options())).GetCharge()!.CostUsd);
    }

    [Fact]
    public async Task A_bill_above_the_reservation_is_charged_and_counted_and_one_at_exactly_the_reservation_is_not()
    {
        var margins = new ReservationMargins(TestDoubles.Options(Providers), new GatewayMetrics(TestDoubles.Meters()), NullLogger<ReservationMargins>.Instance);
        var (exact, _, _) = Build(_ => Answer(input: 1062, output: 500), margins);
        Assert.Equal(Reservation, (await exact.GetResponseAsync([], Options())).GetCharge()!.CostUsd);
        Assert.Equal(1.05, margins.MarginOf("openai"));

        var (over, _, _) = Build(_ => Answer(input: 1063, output: 500), margins);
        Assert.Equal(Cost(1063, 500), (await over.GetResponseAsync([], Options())).GetCharge()!.CostUsd);
        Assert.Equal(1063 / 1000.0 * 1.05, margins.MarginOf("openai"), 9);
    }

    [Fact]
    public async Task A_failed_attempt_is_charged_what_the_provider_may_bill()
    {
        // Cut off mid-call: the provider may bill up to max_tokens, so the whole reservation. A paid but malformed
        // answer: its usage. Refused before it ran (an error status): nothing.
        var cutOff = await FailAsync(new ProviderCallException(ProviderCallKind.Timeout, null, null, new OperationCanceledException()));
        var malformed = await FailAsync(new ProviderCallException(ProviderCallKind.MalformedResponse, null, Answer(input: 800, output: 40), new FormatException()));
        var refused = await FailAsync(new ProviderCallException(ProviderCallKind.ServerError, null, null, new HttpRequestException()));

        Assert.Equal(new GatewayResponse.Charge("gpt-4o", Reservation), cutOff);
        Assert.Equal(new GatewayResponse.Charge("gpt-4o", Cost(800, 40)), malformed);
        Assert.Equal(new GatewayResponse.Charge("gpt-4o", 0m), refused);
    }

    [Fact]
    public async Task A_cancellation_that_reaches_the_budget_layer_bare_is_charged_the_reservation()
    {
        var (client, ledger, leases) = Build(_ => throw new OperationCanceledException());

        await Assert.ThrowsAsync<OperationCanceledException>(() => client.GetResponseAsync([], Options()));
        await leases.RefreshAsync(Month);
        Assert.Equal(Reservation, ledger.State.SpentUsd);
    }

    [Fact]
    public async Task An_attempt_without_a_model_or_max_tokens_is_a_gateway_error_that_names_what_is_missing()
    {
        var (client, _, _) = Build(_ => Answer(1, 1));
        var noModel = Options();
        noModel.ModelId = null;
        var noMax = Options();
        noMax.MaxOutputTokens = null;

        Assert.Contains("no model", (await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetResponseAsync([], noModel))).Message, StringComparison.Ordinal);
        Assert.Contains("max_tokens", (await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetResponseAsync([], noMax))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_month_with_nothing_left_refuses_before_the_provider_is_called()
    {
        var calls = 0;
        var (client, _, _) = Build(_ =>
        {
            calls++;
            return Answer(1, 1);
        }, limit: Reservation - 0.000001m);

        await Assert.ThrowsAsync<BudgetExhaustedException>(() => client.GetResponseAsync([], Options()));
        Assert.Equal(0, calls);
    }

    private static async Task<GatewayResponse.Charge?> FailAsync(ProviderCallException failure)
    {
        var (client, _, _) = Build(_ => throw failure);
        var thrown = await Assert.ThrowsAsync<ProviderCallException>(() => client.GetResponseAsync([], Options()));
        Assert.Same(failure, thrown);
        return thrown.Charge;
    }

    private static ChatResponse Answer(long input, long output) =>
        new(new ChatMessage(ChatRole.Assistant, "{}")) { Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = output } };

    private static ChatOptions Options()
    {
        var context = new GatewayCallContext
        {
            RequestId = "req-1",
            Month = Month,
            Deadline = DateTimeOffset.UtcNow.AddSeconds(3),
            DeadlineDuration = TimeSpan.FromSeconds(3),
            InputTokens = 1000,
            ProviderOrder = ["openai"],
            Settings = new FeatureSettings(null, 3, 4000, 500, 300, new Dictionary<string, ProviderModelSettings> { ["openai"] = new("gpt-4o", 0.4f, 500) }),
        };
        var options = GatewayCallContext.ForAttempt(context.Attach(new ChatOptions()), "openai", 1, isProbe: false);
        options.ModelId = "gpt-4o";
        options.MaxOutputTokens = 500;
        return options;
    }

    private static (BudgetChatClient Client, LedgerGrain Ledger, BudgetLeases Leases) Build(
        Func<ChatOptions?, ChatResponse> provider, ReservationMargins? margins = null, decimal limit = 100m)
    {
        var ledger = new LedgerGrain(limit);
        var meters = TestDoubles.Meters();
        var leases = new BudgetLeases(TestDoubles.Grains(ledger), new BudgetMonitor(meters), TimeProvider.System, NullLogger<BudgetLeases>.Instance);
        margins ??= new ReservationMargins(TestDoubles.Options(Providers), new GatewayMetrics(meters), NullLogger<ReservationMargins>.Instance);
        return (new BudgetChatClient(new FakeProvider(provider), leases, TestDoubles.Options(Providers), margins), ledger, leases);
    }
}
