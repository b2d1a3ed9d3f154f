using System.Security.Cryptography;
using System.Text;

namespace Navigator.Grains.Experiments;

/// <summary>
/// Deterministic, sticky variant assignment: SHA-256 of "salt:userId" picks a bucket in [0, 10000),
/// and the variants own consecutive bucket ranges in proportion to their weights.
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

    public static ExperimentVariant? Pick(ExperimentDefinition definition, string userId)
    {
        var totalWeight = definition.Variants.Sum(v => Math.Max(0, v.Weight));
        if (totalWeight <= 0)
        {
            return null;
        }

        var bucket = Bucket(definition.Salt, userId);
        // Scale the bucket onto the weight range so any weights (not only percentages) work.
        var point = (long)bucket * totalWeight / Buckets;
        long cumulative = 0;
        foreach (var variant in definition.Variants)
        {
            cumulative += Math.Max(0, variant.Weight);
            if (point < cumulative)
            {
                return variant;
            }
        }

        return definition.Variants[^1];
    }
}
