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

[OptionsValidator]
public sealed partial class RequestOptionsValidator : IValidateOptions<RequestOptions>;
