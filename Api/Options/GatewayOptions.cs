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

    /// <summary>How long an unsettled reservation lives before it is charged in full.</summary>
    [Range(5, 3600)]
    public int ReservationTtlSeconds { get; set; } = 60;
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
public sealed partial class AuthOptionsValidator : IValidateOptions<AuthOptions>;
