using Navigator.Api.Pipeline;
using Navigator.Grains.PromptConfig;
using Navigator.Testing;

namespace Navigator.UnitTests;

public sealed class PromptTests
{
    private static readonly TokenCounter Tokens = new();

    private static FeatureSnapshot Snapshot(int maxInputTokens = 3000) => new(
        "career_path_navigator", "1.2.3", "v2.1", "You are a careful career advisor.", "v1.5",
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "seed", "prompts", "career_path_navigator", "user", "v1.5.txt")),
        new FeatureSettings("provider_comparison", 3, maxInputTokens, 800, 500, new Dictionary<string, ProviderModelSettings>()),
        1);

    [Fact]
    public void Renders_every_variable_without_html_encoding()
    {
        var text = new PromptRenderer().Render("{{ a }} and {{ b }} x{{ n }}", new Dictionary<string, object?>
        {
            ["a"] = "R&D <team>",
            ["b"] = "\"quoted\"",
            ["n"] = 3,
        });
        Assert.Equal("R&D <team> and \"quoted\" x3", text);
    }

    [Fact]
    public void User_template_v1_5_renders_profile_market_and_count()
    {
        var rendered = new InputLimiter(new PromptRenderer(), Tokens).Render(Snapshot(), "Python dev, 5 years", "AI Engineer: $120k-180k");
        Assert.Contains("Python dev, 5 years", rendered.User, StringComparison.Ordinal);
        Assert.Contains("AI Engineer: $120k-180k", rendered.User, StringComparison.Ordinal);
        Assert.Contains("exactly 3 career paths", rendered.User, StringComparison.Ordinal);
        Assert.DoesNotContain("{{", rendered.User, StringComparison.Ordinal);
        Assert.False(rendered.Truncated);
        Assert.Equal(Tokens.Count(rendered.System) + Tokens.Count(rendered.User), rendered.InputTokens);
    }

    [Fact]
    public void Over_long_input_cuts_market_data_first_and_reports_it()
    {
        var profile = "Senior backend engineer with Go and Kubernetes experience.";
        var market = string.Join(", ", Enumerable.Range(0, 2000).Select(i => $"Role {i}: $100k-150k"));
        var rendered = new InputLimiter(new PromptRenderer(), Tokens).Render(Snapshot(maxInputTokens: 400), profile, market);

        Assert.True(rendered.Truncated);
        Assert.True(rendered.InputTokens <= 400, $"{rendered.InputTokens} tokens");
        Assert.Contains(profile, rendered.User, StringComparison.Ordinal);
        Assert.Contains("Role 0: $100k-150k", rendered.User, StringComparison.Ordinal);
        Assert.Contains(InputLimiter.TruncationMarker, rendered.User, StringComparison.Ordinal);
        Assert.DoesNotContain("Role 1999", rendered.User, StringComparison.Ordinal);
    }

    [Fact]
    public void When_the_profile_alone_is_too_long_it_is_cut_too()
    {
        var profile = string.Join(" ", Enumerable.Repeat("experienced engineer", 2000));
        var rendered = new InputLimiter(new PromptRenderer(), Tokens).Render(Snapshot(maxInputTokens: 300), profile, "AI Engineer: $1-2");

        Assert.True(rendered.Truncated);
        Assert.True(rendered.InputTokens <= 300, $"{rendered.InputTokens} tokens");
        Assert.DoesNotContain("AI Engineer", rendered.User, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_counts_come_from_o200k_base_not_a_character_ratio()
    {
        // "hello world" is two o200k_base tokens; characters/4 would say three.
        Assert.Equal(2, Tokens.Count("hello world"));
        Assert.Equal("hello", Tokens.Truncate("hello world", 1));
    }

    [Fact]
    public void A_template_past_the_step_limit_stops_instead_of_running_on()
    {
        var renderer = new Navigator.Api.Pipeline.PromptRenderer();
        Assert.ThrowsAny<InvalidOperationException>(() => renderer.Render("{% for i in (1..20000) %}x{% endfor %}", new Dictionary<string, object?>()));
        // Publishing refuses what the renderer would only stop late, or not at all.
        Assert.Contains("range of 100,000,000", Navigator.Grains.PromptConfig.TemplateVariables.TrialRender("{% for i in (1..100000000) %}x{% endfor %}", new HashSet<string>()), StringComparison.Ordinal);
        Assert.Contains("steps", Navigator.Grains.PromptConfig.TemplateVariables.TrialRender("{% for i in (1..9000) %}{% for j in (1..9000) %}x{% endfor %}{% endfor %}", new HashSet<string>()), StringComparison.Ordinal);
        Assert.Null(Navigator.Grains.PromptConfig.TemplateVariables.TrialRender("{% for i in (1..3) %}{{ user_profile }}{% endfor %}", new HashSet<string> { "user_profile" }));
        Assert.Equal("xxx", renderer.Render("{% for i in (1..3) %}x{% endfor %}", new Dictionary<string, object?>()));
    }

    [Fact]
    public void A_system_prompt_with_variables_is_refused_and_one_published_before_the_rule_blocks_its_feature()
    {
        var refused = Assert.Single(Navigator.Grains.PromptConfig.FeatureConfigValidator.ValidatePrompt("system", "v9.0", "You advise {{ user_profile }} on {{ job_market_data }}."));
        Assert.Equal("/text", refused.Pointer);
        Assert.Contains("job_market_data, user_profile", refused.Message, StringComparison.Ordinal);
        Assert.Empty(Navigator.Grains.PromptConfig.FeatureConfigValidator.ValidatePrompt("user", "v9.0", "Advise {{ user_profile }}."));
        Assert.Empty(Navigator.Grains.PromptConfig.FeatureConfigValidator.ValidatePrompt("system", "v9.0", "You are a careful career advisor."));

        var prompts = new Dictionary<string, string>
        {
            [Navigator.Grains.PromptConfig.PromptKey.For("system", "v9.0")] = "You advise {{ user_profile }}.",
            [Navigator.Grains.PromptConfig.PromptKey.For("user", "v9.0")] = "{{ user_profile }} {{ job_market_data }} {{ recommendation_count }}",
        };
        var (document, errors) = new FeatureConfigValidator(new Navigator.Grains.Seed.FileSeedSource(Microsoft.Extensions.Options.Options.Create(new Navigator.Grains.Seed.SeedOptions()))).Validate(
            "career_path_navigator", FeatureDocuments.Make("career_path_navigator", "9.0.0", system: "v9.0", user: "v9.0"), prompts);
        Assert.Null(document);
        Assert.Contains(errors, e => e.Pointer == "/prompts/system" && e.Message.Contains("not rendered", StringComparison.Ordinal));
    }
}
