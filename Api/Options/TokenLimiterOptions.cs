using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Navigator.Api.Options;

/// <summary>The output-token limiter (config section "tokens").</summary>
public sealed class TokenLimiterOptions
{
    public const string Section = "tokens";

    /// <summary>How many recent responses the rolling average of output tokens covers.</summary>
    [Range(1, 100_000)]
    public int RollingWindow { get; set; } = 100;
}

[OptionsValidator]
public sealed partial class TokenLimiterOptionsValidator : IValidateOptions<TokenLimiterOptions>;
