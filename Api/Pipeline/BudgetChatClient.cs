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
/// <remarks>
/// What cannot be known is charged at its upper bound, the reservation: an attempt cut off by its timeout or
/// the deadline (the provider may go on generating, and bills what it generates), and an answer that reports
/// no usage, or only part of it. So the ledger may overstate a month's spend, never understate it.
/// </remarks>
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
            actual = CostOf(price, response, reserved);
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
                ? CostOf(price, paid, reserved)
                // Cut off mid-call: the provider may bill up to max_tokens. Refused before it ran (an error status): nothing.
                : ex.InnerException is OperationCanceledException ? reserved : 0m;
            ex.Charge = new GatewayResponse.Charge(model, actual);
            throw;
        }
        catch (OperationCanceledException)
        {
            // Cancelled with no provider error around it (the deadline reached this layer first): as cut off.
            actual = reserved;
            throw;
        }
        finally
        {
            // In memory: settling cannot fail and does not depend on the client staying connected.
            BudgetLeases.Settle(hold, actual);
        }
    }

    /// <summary>The reported usage's cost; without both counts, the reservation (the most the attempt could cost).</summary>
    private static decimal CostOf(ModelPrice price, ChatResponse response, decimal reserved) =>
        response.Usage is { InputTokenCount: { } input, OutputTokenCount: { } output } ? price.Cost(input, output) : reserved;
}
