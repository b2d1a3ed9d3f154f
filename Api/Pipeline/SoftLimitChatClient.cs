using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;

namespace Navigator.Api.Pipeline;

/// <summary>
/// The soft-limit policy: once the month's committed spend passes <see cref="BudgetOptions.SoftLimitRatio"/>,
/// "downgrade" sends the attempt to the provider's cheaper model.
/// </summary>
public sealed class SoftLimitChatClient(
    IChatClient inner,
    BudgetMonitor monitor,
    IOptionsMonitor<BudgetOptions> budget,
    IOptionsMonitor<ProvidersOptions> providers) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var context = GatewayCallContext.From(options);
        var (provider, _) = GatewayCallContext.AttemptOf(options);
        var policy = budget.CurrentValue;
        var downgraded = false;
        if (policy.SoftLimitPolicy == "downgrade"
            && monitor.Utilization(context.Month) >= (decimal)policy.SoftLimitRatio
            && providers.CurrentValue.Get(provider).CheaperModel is { Length: > 0 } cheaper
            && cheaper != options!.ModelId)
        {
            options = options.Clone();
            options.ModelId = cheaper;
            downgraded = true;
        }

        try
        {
            var response = await base.GetResponseAsync(messages, options, cancellationToken);
            if (downgraded)
            {
                response.SetDowngraded();
            }

            return response;
        }
        catch (ProviderCallException ex) when (downgraded)
        {
            ex.Downgraded = true;
            throw;
        }
    }
}
