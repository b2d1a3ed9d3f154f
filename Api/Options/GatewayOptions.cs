using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Navigator.Api.Options;

/// <summary>Per-request limits (config section "request", seeded from config/rate_limits.json).</summary>
public sealed class RequestOptions
{
    public const string Section = "request";

    /// <summary>End-to-end deadline for one request.</summary>
    [Range(100, 120_000)]
    public int DeadlineMs { get; set; } = 3000;

    /// <summary>Largest accepted request body; larger bodies get 413.</summary>
    [Range(1024, 10 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 64 * 1024;

    /// <summary>The feature this gateway serves.</summary>
    [Required]
    public string Feature { get; set; } = "career_path_navigator";
}

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

/// <summary>Per-user daily quotas (config section "perUser", from config/rate_limits.json).</summary>
public sealed class UserQuotaOptions
{
    public const string Section = "perUser";

    [Range(1, 1_000_000)]
    public int RequestsPerDay { get; set; } = 50;

    [Range(1, long.MaxValue)]
    public long TokensPerDay { get; set; } = 100_000;
}

/// <summary>The output-token limiter (config section "tokens").</summary>
public sealed class TokenLimiterOptions
{
    public const string Section = "tokens";

    /// <summary>How many recent responses the rolling average of output tokens covers.</summary>
    [Range(1, 100_000)]
    public int RollingWindow { get; set; } = 100;
}

/// <summary>The two API keys. Both are compared in constant time.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";
    public const string DevelopmentClientKey = "dev-client-key";
    public const string DevelopmentAdminKey = "dev-admin-key";

    [Required, MinLength(8)]
    public string ClientKey { get; set; } = DevelopmentClientKey;

    /// <summary>The admin key named "admin" in the audit log.</summary>
    [Required, MinLength(8)]
    public string AdminKey { get; set; } = DevelopmentAdminKey;

    /// <summary>More admin keys by name (Auth:AdminKeys:alice=...); the name is what the audit log records.</summary>
    public Dictionary<string, string> AdminKeys { get; set; } = new(StringComparer.Ordinal);

    public IEnumerable<KeyValuePair<string, string>> AllAdminKeys() =>
        AdminKeys.Where(k => k.Value.Length >= 8).Prepend(new KeyValuePair<string, string>("admin", AdminKey));
}

[OptionsValidator]
public sealed partial class RequestOptionsValidator : IValidateOptions<RequestOptions>;

[OptionsValidator]
public sealed partial class BudgetOptionsValidator : IValidateOptions<BudgetOptions>;

[OptionsValidator]
public sealed partial class UserQuotaOptionsValidator : IValidateOptions<UserQuotaOptions>;

[OptionsValidator]
public sealed partial class TokenLimiterOptionsValidator : IValidateOptions<TokenLimiterOptions>;

[OptionsValidator]
public sealed partial class AuthOptionsValidator : IValidateOptions<AuthOptions>;
