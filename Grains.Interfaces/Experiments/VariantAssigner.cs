using System.Security.Cryptography;
using System.Text;

namespace Navigator.Grains.Experiments;

/// <summary>
/// Deterministic, sticky variant assignment: SHA-256 of the UTF-8 bytes of "salt:userId" (the salt
/// has no ':'), its first 8 bytes read as a little-endian unsigned integer, modulo 10,000, is the
/// user's bucket; the variant owning that bucket (<see cref="BucketAllocator"/>) is the user's variant.
/// </summary>
public static class VariantAssigner
{
    public const int Buckets = 10_000;

    public static int Bucket(string salt, string userId)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{salt}:{userId}"), hash);
        var value = BitConverter.ToUInt64(hash[..8]);
        return (int)(value % Buckets);
    }

    /// <summary>The variant that owns the user's bucket, or null when the user is outside the experiment's coverage.</summary>
    public static ExperimentVariant? Pick(ExperimentDefinition definition, string userId)
    {
        var bucket = Bucket(definition.Salt, userId);
        foreach (var variant in definition.Variants)
        {
            foreach (var range in variant.Buckets)
            {
                if (bucket >= range.Start && bucket < range.End)
                {
                    return variant;
                }
            }
        }

        return null;
    }
}
