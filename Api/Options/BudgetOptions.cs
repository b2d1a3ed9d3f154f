using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Navigator.Api.Options;

/// <summary>Budget behaviour (config section "budget", seeded from config/rate_limits.json).</summary>
public sealed class BudgetOptions
{
    public const string Section = "budget";

    /// <summary>Share of the monthly limit (spent + reserved) past which the soft-limit policy applies.</summary>
    [Range(0.0, 1.0)]
    public double SoftLimitRatio { get; set; } = 0.8;

    /// <summary>"downgrade" (use each provider's cheaperModel) or "none".</summary>
    [RegularExpression("^(downgrade|none)$")]
    public string SoftLimitPolicy { get; set; } = "downgrade";
}

[OptionsValidator]
public sealed partial class BudgetOptionsValidator : IValidateOptions<BudgetOptions>;
