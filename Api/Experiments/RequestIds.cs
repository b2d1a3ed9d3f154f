using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Navigator.Api.Pipeline;
using Navigator.Grains.Experiments;

namespace Navigator.Api.Experiments;

/// <summary>What a signed request id says: when the request was made, and its experiment and variant if it had one.</summary>
public sealed record RequestIdParts(string RequestId, DateTimeOffset At, string? ExperimentId, string? VariantId);

/// <summary>
/// Request ids that carry what feedback needs, so no record of each request is kept anywhere:
/// <c>req_&lt;UUIDv7&gt;[.&lt;experiment&gt;.&lt;variant&gt;].&lt;signature&gt;</c>. The UUIDv7 holds the request's time; the
/// signature (HMAC-SHA256 with the cluster's key from <see cref="IExperimentCatalogGrain"/>, first 8 bytes in
/// hex) makes an id the gateway did not issue unknown. The id without its suffix is the one the logs show
/// while the request runs.
/// </summary>
public sealed class RequestIds(ExperimentCache experiments, TimeProvider time)
{
    public string New() => $"req_{Guid.CreateVersion7(time.GetUtcNow()):N}";

    /// <summary>The public id of a request; unsigned (so no feedback can name it) if the key is not known yet.</summary>
    public string Sign(string requestId, VariantAssignment? assignment)
    {
        if (experiments.SigningKey is not { } key)
        {
            return requestId;
        }

        var body = assignment is { VariantId: { } variant } ? $"{requestId}.{assignment.ExperimentId}.{variant}" : requestId;
        return $"{body}.{Signature(key, body)}";
    }

    /// <summary>Reads an id this cluster signed; false for anything else.</summary>
    public bool TryRead(string id, out RequestIdParts parts)
    {
        parts = null!;
        var fields = id.Split('.');
        if (experiments.SigningKey is not { } key || fields.Length is not (2 or 4) || !fields[0].StartsWith("req_", StringComparison.Ordinal)
            || fields[0].Length != 36 || !Guid.TryParseExact(fields[0][4..], "N", out _))
        {
            return false;
        }

        var body = id[..id.LastIndexOf('.')];
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Signature(key, body)), Encoding.ASCII.GetBytes(fields[^1])))
        {
            return false;
        }

        // A UUIDv7 begins with its 48-bit Unix time in milliseconds.
        var at = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(fields[0][4..16], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        parts = new RequestIdParts(fields[0], at, fields.Length == 4 ? fields[1] : null, fields.Length == 4 ? fields[2] : null);
        return true;
    }

    private static string Signature(byte[] key, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(body)).AsSpan(0, 8));
}
