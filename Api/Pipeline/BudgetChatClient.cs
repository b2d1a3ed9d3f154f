using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Reserve-then-settle around one provider attempt, on this replica's budget lease: reserves the
/// attempt's worst case (input tokens with the provider's margin × input price + max output tokens ×
/// output price) and settles the actual cost afterwards, in memory, even if the caller has gone. The
/// lease's grain learns of both in the replica's next report. A bill above the reservation is still
/// charged in full, and counted (see <see cref="ReservationMargins"/>).
/// </summary>
public sealed class BudgetChatClient(
    IChatClient inner,
    BudgetLeases leases,
    IOptionsMonitor<ProvidersOptions> providers,
    ReservationMargins margins) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var context = GatewayCallContext.From(options);
        var (provider, _) = GatewayCallContext.AttemptOf(options);
        var model = options!.ModelId ?? throw new InvalidOperationException("The attempt names no model.");
        var price = providers.CurrentValue.Get(provider).PriceOf(model);
        var maxOutput = options.MaxOutputTokens ?? throw new InvalidOperationException("max_tokens must always be set.");

        var reserved = price.Cost(margins.ReservedInputTokens(provider, context.InputTokens), maxOutput);
        var hold = await leases.ReserveAsync(context.Month, reserved, cancellationToken);
        decimal actual = 0;
        try
        {
            var response = await base.GetResponseAsync(messages, options, cancellationToken);
            actual = CostOf(price, response, context.InputTokens);
            if (actual > reserved)
            {
                margins.Underreserved(provider, model, reserved, actual, context.InputTokens, response.Usage?.InputTokenCount ?? context.InputTokens);
            }

            response.SetCharge(model, actual);
            return response;
        }
        catch (ProviderCallException ex)
        {
            actual = ex.Response is { } paid
                ? CostOf(price, paid, context.InputTokens)
                // Cut off mid-call, the provider may already bill the prompt: charge the input, never nothing.
                : ex.InnerException is OperationCanceledException ? price.Cost(context.InputTokens, 0) : 0m;
            ex.Charge = new GatewayResponse.Charge(model, actual);
            throw;
        }
        finally
        {
            // In memory: settling cannot fail and does not depend on the client staying connected.
            BudgetLeases.Settle(hold, actual);
        }
    }

    private static decimal CostOf(ModelPrice price, ChatResponse response, int estimatedInputTokens) =>
        price.Cost(response.Usage?.InputTokenCount ?? estimatedInputTokens, response.Usage?.OutputTokenCount ?? 0);
}
