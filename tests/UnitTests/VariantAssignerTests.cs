using Navigator.Grains.Experiments;

namespace Navigator.UnitTests;

public sealed class VariantAssignerTests
{
    private static readonly ExperimentDefinition FiftyFifty = new("exp", "running", "salt-1",
        [new ExperimentVariant("a", 50, "openai"), new ExperimentVariant("b", 50, "anthropic")]);

    [Fact]
    public void Each_user_gets_the_variant_that_owns_their_documented_bucket()
    {
        for (var i = 0; i < 200; i++)
        {
            // Computed apart from the assigner: SHA-256 of "salt:userId", first 8 bytes, mod 10,000;
            // with 50/50 weights, buckets 0-4999 belong to "a" and the rest to "b".
            var bucket = (int)(BitConverter.ToUInt64(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"salt-1:u{i}")), 0) % 10_000);
            Assert.Equal(bucket, VariantAssigner.Bucket("salt-1", $"u{i}"));
            Assert.Equal(bucket < 5_000 ? "a" : "b", VariantAssigner.Pick(FiftyFifty, $"u{i}")!.Id);
        }
    }

    [Fact]
    public void Bucket_is_a_known_value_so_assignments_survive_releases()
    {
        // Changing the hash would silently move every user to another variant mid-experiment.
        Assert.InRange(VariantAssigner.Bucket("provider_comparison", "u-123"), 0, VariantAssigner.Buckets - 1);
        Assert.Equal(Expected("provider_comparison:u-123"), VariantAssigner.Bucket("provider_comparison", "u-123"));

        static int Expected(string input)
        {
            var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(input));
            return (int)(BitConverter.ToUInt64(hash, 0) % 10_000);
        }
    }

    [Fact]
    public void Weights_split_users_in_proportion()
    {
        var seventyThirty = FiftyFifty with { Variants = [new ExperimentVariant("a", 70, null), new ExperimentVariant("b", 30, null)] };
        var counts = Enumerable.Range(0, 20_000).Select(i => VariantAssigner.Pick(seventyThirty, $"user-{i}")!.Id)
            .GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());

        Assert.InRange(counts["a"] / 20_000.0, 0.68, 0.72);
        Assert.InRange(counts["b"] / 20_000.0, 0.28, 0.32);
    }

    [Fact]
    public void A_different_salt_reshuffles_users()
    {
        var moved = Enumerable.Range(0, 1000).Count(i =>
            VariantAssigner.Pick(FiftyFifty, $"u{i}")!.Id != VariantAssigner.Pick(FiftyFifty with { Salt = "salt-2" }, $"u{i}")!.Id);
        Assert.InRange(moved, 400, 600);
    }

    [Fact]
    public void Zero_weight_variants_get_nobody_and_all_zero_weights_pick_nothing()
    {
        var oneLive = FiftyFifty with { Variants = [new ExperimentVariant("off", 0, null), new ExperimentVariant("on", 10, null)] };
        Assert.All(Enumerable.Range(0, 500), i => Assert.Equal("on", VariantAssigner.Pick(oneLive, $"u{i}")!.Id));
        Assert.Null(VariantAssigner.Pick(FiftyFifty with { Variants = [new ExperimentVariant("off", 0, null)] }, "u1"));
    }
}
