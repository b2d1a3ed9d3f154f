using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Navigator.Api.Options;

/// <summary>A token bucket: <see cref="RequestsPerSecond"/> on average, in bursts of up to <see cref="Burst"/>.</summary>
public sealed class TokenBucketOptions
{
    [Range(1, 100_000)]
    public int RequestsPerSecond { get; set; } = 50;

    [Range(1, 1_000_000)]
    public int Burst { get; set; } = 100;
}

/// <summary>
/// Per-client-key request rate limits on /v1 (config section "clientRateLimits", from config/rate_limits.json),
/// beside the cluster-wide per-user quotas. Each replica keeps its own buckets, so the cluster admits up to
/// the number of replicas times these rates; they stop one misbehaving client, not the month's spend (the
/// budget does that).
/// </summary>
public sealed class ClientRateLimitOptions
{
    public const string Section = "clientRateLimits";

    /// <summary>Whether the limit applies at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The bucket of every client key without one of its own.</summary>
    public TokenBucketOptions Default { get; set; } = new();

    /// <summary>Buckets by client key name (<c>clientRateLimits:clients:&lt;name&gt;</c>).</summary>
    public Dictionary<string, TokenBucketOptions> Clients { get; set; } = new(StringComparer.Ordinal);

    public TokenBucketOptions For(string client) => Clients.GetValueOrDefault(client) ?? Default;
}

/// <summary>Checks the default bucket and every client's, naming the setting that is out of range.</summary>
public sealed class ClientRateLimitOptionsValidator : IValidateOptions<ClientRateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, ClientRateLimitOptions options)
    {
        var failures = new List<string>();
        Check($"{ClientRateLimitOptions.Section}:default", options.Default, failures);
        foreach (var (client, bucket) in options.Clients)
        {
            Check($"{ClientRateLimitOptions.Section}:clients:{client}", bucket, failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(string setting, TokenBucketOptions? bucket, List<string> failures)
    {
        if (bucket is null)
        {
            failures.Add($"{setting} is missing.");
            return;
        }

        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(bucket, new ValidationContext(bucket), results, validateAllProperties: true))
        {
            failures.AddRange(results.Select(r => $"{setting}: {r.ErrorMessage}"));
        }
    }
}
