using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Navigator.Api.Options;

/// <summary>The response cache (section "cache"). A feature version may turn caching off or set its own TTL and stale window.</summary>
public sealed class CacheOptions
{
    public const string Section = "cache";

    /// <summary>Turns the cache off for every feature (requests then neither read nor write it).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long an answer is served as fresh.</summary>
    [Range(1, 604_800)]
    public int TtlSeconds { get; set; } = 3600;

    /// <summary>How long after its TTL an answer is kept to serve, marked stale, when every provider fails.</summary>
    [Range(0, 604_800)]
    public int StaleSeconds { get; set; } = 86_400;

    /// <summary>This replica's first level (HybridCache's in-memory cache), in megabytes.</summary>
    [Range(1, 16_384)]
    public int LocalMegabytes { get; set; } = 64;
}

[OptionsValidator]
public sealed partial class CacheOptionsValidator : IValidateOptions<CacheOptions>;
