using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Navigator.Api.Options;

/// <summary>Per-user daily quotas (config section "perUser", from config/rate_limits.json).</summary>
public sealed class UserQuotaOptions
{
    public const string Section = "perUser";

    [Range(1, 1_000_000)]
    public int RequestsPerDay { get; set; } = 50;

    [Range(1, long.MaxValue)]
    public long TokensPerDay { get; set; } = 100_000;
}

[OptionsValidator]
public sealed partial class UserQuotaOptionsValidator : IValidateOptions<UserQuotaOptions>;
