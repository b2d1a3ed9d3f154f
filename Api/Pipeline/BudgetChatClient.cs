using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;
using Navigator.Grains.Budget;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Reserve-then-settle around one provider attempt: reserves the attempt's worst case
/// (input tokens × input price + max output tokens × output price) in the month's
/// <see cref="IBudgetGrain"/>, and settles the actual cost afterwards, even if the caller has gone.
/// </summary>
public sealed class BudgetChatClient(
    IChatClient inner,
    IGrainFactory grains,
    IOptionsMonitor<ProvidersOptions> providers,
    IOptionsMonitor<BudgetOptions> budget,
    BudgetMonitor monitor) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var context = GatewayCallContext.From(options);
        var (provider, attempt) = GatewayCallContext.AttemptOf(options);
        var model = options!.ModelId ?? throw new InvalidOperationException("The attempt names no model.");
        var price = PriceOf(provider, model);
        var maxOutput = options.MaxOutputTokens ?? throw new InvalidOperationException("max_tokens must always be set.");

        var reservationId = $"{context.RequestId}:{attempt}";
        var worstCase = price.Cost(context.InputTokens, maxOutput);
        var ledger = grains.GetGrain<IBudgetGrain>(context.Month);
        var reservation = await ledger.ReserveAsync(reservationId, worstCase, TimeSpan.FromSeconds(budget.CurrentValue.ReservationTtlSeconds));
        monitor.Observe(reservation.Status);
        if (!reservation.Granted)
        {
            throw new BudgetExhaustedException(context.Month, worstCase, reservation.Status.RemainingUsd,
                dailyCap: reservation.Outcome == ReservationOutcome.DailyCapExceeded);
        }

        context.AttemptModel = model;
        decimal actual = 0;
        try
        {
            var response = await base.GetResponseAsync(messages, options, cancellationToken);
            actual = CostOf(price, response, context.InputTokens);
            return response;
        }
        catch (MalformedResponseException ex) when (ex.Response is not null)
        {
            actual = CostOf(price, ex.Response, context.InputTokens);
            throw;
        }
        catch (OperationCanceledException)
        {
            // Cut off mid-call: the provider may already bill the prompt. Charge the input, never nothing.
            actual = price.Cost(context.InputTokens, 0);
            throw;
        }
        finally
        {
            // Settling must not depend on the client staying connected: no request token here.
            context.AttemptCostUsd = actual;
            monitor.Observe((await ledger.SettleAsync(reservationId, actual)).Status);
        }
    }

    private ModelPrice PriceOf(string provider, string model) =>
        providers.CurrentValue.Get(provider).Models.TryGetValue(model, out var price)
            ? price
            : throw new InvalidOperationException($"No price is configured for {provider} model '{model}'.");

    private static decimal CostOf(ModelPrice price, ChatResponse response, int estimatedInputTokens) =>
        price.Cost(response.Usage?.InputTokenCount ?? estimatedInputTokens, response.Usage?.OutputTokenCount ?? 0);
}
