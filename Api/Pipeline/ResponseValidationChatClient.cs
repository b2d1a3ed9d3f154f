using Microsoft.Extensions.AI;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Parses the answer into recommendations; an answer that does not parse is a failed attempt. A judge's
/// answer is a score, which the judge reads itself.
/// </summary>
public sealed class ResponseValidationChatClient(IChatClient inner) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var response = await base.GetResponseAsync(messages, options, cancellationToken);
        if (GatewayCallContext.From(options).IsJudge)
        {
            return response;
        }

        try
        {
            response.SetRecommendations(RecommendationParser.Parse(response.Text));
        }
        catch (FormatException ex)
        {
            throw new MalformedResponseException(ex.Message, response);
        }

        return response;
    }
}
