using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Pipeline;

public sealed record RenderedPrompt(string System, string User, int InputTokens, bool Truncated);

/// <summary>
/// Renders the prompts and keeps them within the feature's maxInputTokens: the job-market data is
/// cut first, then the profile. Truncation is reported, never silent.
/// </summary>
public sealed class InputLimiter(PromptRenderer renderer, TokenCounter tokens)
{
    public const string TruncationMarker = " [truncated]";

    public RenderedPrompt Render(FeatureSnapshot snapshot, string userProfile, string jobMarketData)
    {
        var system = snapshot.SystemPrompt;
        var user = RenderUser(snapshot, userProfile, jobMarketData);
        var total = tokens.Count(system) + tokens.Count(user);
        var max = snapshot.Settings.MaxInputTokens;
        if (total <= max)
        {
            return new RenderedPrompt(system, user, total, Truncated: false);
        }

        var marker = tokens.Count(TruncationMarker);
        var overhead = tokens.Count(system) + tokens.Count(RenderUser(snapshot, "", ""));
        var room = Math.Max(0, max - overhead - 2 * marker);
        var profileTokens = tokens.Count(userProfile);
        var profile = userProfile;
        string market;
        if (profileTokens <= room)
        {
            market = Cut(jobMarketData, room - profileTokens);
        }
        else
        {
            market = Cut(jobMarketData, 0);
            profile = Cut(userProfile, room);
        }

        user = RenderUser(snapshot, profile, market);
        return new RenderedPrompt(system, user, tokens.Count(system) + tokens.Count(user), Truncated: true);

        string Cut(string text, int budget) =>
            tokens.Count(text) <= budget ? text : tokens.Truncate(text, budget) + TruncationMarker;
    }

    private string RenderUser(FeatureSnapshot snapshot, string userProfile, string jobMarketData) =>
        renderer.Render(snapshot.UserTemplate, new Dictionary<string, object?>
        {
            ["user_profile"] = userProfile,
            ["job_market_data"] = jobMarketData,
            ["recommendation_count"] = snapshot.Settings.RecommendationCount,
        });
}
