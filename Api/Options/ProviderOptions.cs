using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Navigator.Api.Options;

/// <summary>Provider settings (config section "providers", from config/provider_settings.json). Keys never live in files.</summary>
public sealed class ProvidersOptions
{
    public const string Section = "providers";

    [Required, ValidateObjectMembers]
    public ProviderSettings OpenAI { get; set; } = new();

    [Required, ValidateObjectMembers]
    public ProviderSettings Anthropic { get; set; } = new();

    [Required, ValidateObjectMembers]
    public HedgingSettings Hedging { get; set; } = new();

    public ProviderSettings Get(string provider) => provider switch
    {
        ProviderNames.OpenAI => OpenAI,
        ProviderNames.Anthropic => Anthropic,
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown provider."),
    };
}

public static class ProviderNames
{
    public const string OpenAI = "openai";
    public const string Anthropic = "anthropic";

    public static IReadOnlyList<string> All { get; } = [OpenAI, Anthropic];

    public static bool IsKnown(string name) => name is OpenAI or Anthropic;
}

public sealed class ProviderSettings
{
    public string? CheaperModel { get; set; }

    [Range(50, 60_000)]
    public int AttemptTimeoutMs { get; set; } = 2500;

    /// <summary>
    /// Input tokens are counted with o200k_base; this provider may count (and bill) more for the same text.
    /// A reservation takes the count times this margin, plus <see cref="ChatOverheadTokens"/>.
    /// </summary>
    [Range(1.0, 10.0)]
    public double InputTokenMargin { get; set; } = 1.1;

    /// <summary>Tokens the provider adds for the chat format (roles, message separators), reserved on top of the text's.</summary>
    [Range(0, 10_000)]
    public int ChatOverheadTokens { get; set; } = 16;

    /// <summary>When set, the real SDK adapter is used; otherwise the provider is simulated.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Endpoint override. OpenAI's includes /v1; Anthropic's does not.</summary>
    public string? BaseUrl { get; set; }

    [ValidateObjectMembers]
    public SimulatedProviderSettings Simulated { get; set; } = new();

    [Required, MinLength(1)]
    public Dictionary<string, ModelPrice> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The model's prices. A model without one is a configuration error, never a provider failure.</summary>
    public ModelPrice PriceOf(string model) =>
        Models.TryGetValue(model, out var price)
            ? price
            : throw new MissingPriceException(model);
}

/// <summary>A model is used that config/provider_settings.json gives no price for.</summary>
public sealed class MissingPriceException(string model)
    : InvalidOperationException($"No price is configured for model '{model}' in providers:*:models (config/provider_settings.json).");

/// <summary>
/// A hedged second attempt (config section "providers:hedging"): when the first provider has not answered within
/// its recent p95 or <see cref="DelayMs"/>, whichever is earlier, the next provider (circuit closed) is called too,
/// and the first good answer wins. The loser is cancelled and charged its reservation, like any attempt cut off.
/// </summary>
public sealed class HedgingSettings
{
    public bool Enabled { get; set; } = true;

    /// <summary>The longest the first attempt runs alone.</summary>
    [Range(10, 60_000)]
    public int DelayMs { get; set; } = 1500;

    /// <summary>The shortest: a recent p95 below this (a fast or idle provider) does not hedge sooner.</summary>
    [Range(0, 60_000)]
    public int MinDelayMs { get; set; } = 250;

    /// <summary>A hedge starts only with at least this long left before the request's deadline.</summary>
    [Range(50, 60_000)]
    public int MinAttemptMs { get; set; } = 500;
}

public sealed class SimulatedProviderSettings
{
    [Range(0, 60_000)]
    public int LatencyMs { get; set; } = 120;

    [Range(0, 60_000)]
    public int LatencyJitterMs { get; set; } = 80;

    /// <summary>Share of calls that fail with a 503, in [0, 1].</summary>
    [Range(0.0, 1.0)]
    public double FailureRate { get; set; }
}

/// <summary>Prices in US dollars per one million tokens.</summary>
public sealed class ModelPrice
{
    [Range(typeof(decimal), "0", "1000")]
    public decimal InputPerMillionUsd { get; set; }

    [Range(typeof(decimal), "0", "1000")]
    public decimal OutputPerMillionUsd { get; set; }

    public decimal Cost(long inputTokens, long outputTokens) =>
        (inputTokens * InputPerMillionUsd + outputTokens * OutputPerMillionUsd) / 1_000_000m;
}

[OptionsValidator]
public sealed partial class ProvidersOptionsValidator : IValidateOptions<ProvidersOptions>;

/// <summary>Models that would be billed without a price: a configuration error, never a provider failure.</summary>
public static class MissingPrices
{
    /// <summary>Each provider model the feature version uses that providers:*:models has no price for.</summary>
    public static IReadOnlyList<string> In(Navigator.Grains.PromptConfig.FeatureSettings settings, ProvidersOptions providers) =>
        [.. settings.Providers
            .Where(p => ProviderNames.IsKnown(p.Key) && !providers.Get(p.Key).Models.ContainsKey(p.Value.Model))
            .Select(p => $"providers:{p.Key}:models has no price for '{p.Value.Model}', which the active feature version uses.")];
}

/// <summary>Every model the settings name (the soft limit's cheaper model) has a price, checked at start-up.</summary>
public sealed class ProviderPricesValidator : IValidateOptions<ProvidersOptions>
{
    public ValidateOptionsResult Validate(string? name, ProvidersOptions options)
    {
        var missing = ProviderNames.All
            .Select(p => (Provider: p, Settings: options.Get(p)))
            .Where(p => p.Settings.CheaperModel is { Length: > 0 } cheaper && !p.Settings.Models.ContainsKey(cheaper))
            .Select(p => $"providers:{p.Provider}:cheaperModel '{p.Settings.CheaperModel}' has no price in providers:{p.Provider}:models.")
            .ToList();
        return missing.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(missing);
    }
}
