using Navigator.Grains.Experiments;

namespace Navigator.UnitTests;

public sealed class VariantAssignerTests
{
    private static readonly ExperimentDefinition FiftyFifty = Running("salt-1", 1.0, ("a", 50), ("b", 50));

    [Fact]
    public void Each_user_gets_the_variant_that_owns_their_documented_bucket()
    {
        for (var i = 0; i < 200; i++)
        {
            // Computed apart from the assigner: SHA-256 of "salt:userId", first 8 bytes, mod 10,000;
            // a fresh 50/50 allocation gives buckets 0-4999 to "a" and the rest to "b".
            var bucket = (int)(BitConverter.ToUInt64(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"salt-1:u{i}")), 0) % 10_000);
            Assert.Equal(bucket, VariantAssigner.Bucket("salt-1", $"u{i}"));
            Assert.Equal(bucket < 5_000 ? "a" : "b", VariantAssigner.Pick(FiftyFifty, $"u{i}")!.Id);
        }
    }

    [Fact]
    public void Bucket_is_a_known_value_so_assignments_survive_releases()
    {
        // Changing the hash would silently move every user to another variant mid-experiment.
        Assert.Equal(Expected("provider_comparison:u-123"), VariantAssigner.Bucket("provider_comparison", "u-123"));
        Assert.Equal(Expected("s:"), VariantAssigner.Bucket("s", ""));

        static int Expected(string input)
        {
            var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(input));
            return (int)(BitConverter.ToUInt64(hash, 0) % 10_000);
        }
    }

    [Fact]
    public void The_split_lands_within_one_percent_of_the_weights()
    {
        var split = Running("split", 1.0, ("a", 70), ("b", 20), ("c", 10));
        var counts = Users(100_000).Select(u => split.Assign(u).VariantId!).GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count() / 100_000.0);

        Assert.InRange(counts["a"], 0.69, 0.71);
        Assert.InRange(counts["b"], 0.19, 0.21);
        Assert.InRange(counts["c"], 0.09, 0.11);
    }

    [Fact]
    public void A_ramp_from_10_to_50_percent_coverage_moves_none_of_100000_assigned_users()
    {
        var at10 = Running("ramp", 0.10, ("a", 50), ("b", 50));
        var at50 = at10 with { Coverage = 0.5, Variants = BucketAllocator.Allocate(at10.Variants, 0.5) };
        var users = Users(100_000).ToList();
        var before = users.Select(u => at10.Assign(u).VariantId).ToList();
        var after = users.Select(u => at50.Assign(u).VariantId).ToList();

        Assert.InRange(before.Count(v => v is not null) / 100_000.0, 0.09, 0.11);
        Assert.InRange(after.Count(v => v is not null) / 100_000.0, 0.49, 0.51);
        var moved = Enumerable.Range(0, users.Count).Count(i => before[i] is not null && before[i] != after[i]);
        Assert.Equal(0, moved);
        Assert.InRange(after.Count(v => v == "a") / (double)after.Count(v => v is not null), 0.49, 0.51);
    }

    [Fact]
    public void A_reweighting_moves_none_of_them_and_hands_out_only_unassigned_buckets()
    {
        var even = Running("reweight", 0.5, ("a", 50), ("b", 50));
        var skewed = even with { Variants = BucketAllocator.Allocate(even.Variants.Select(v => v with { Weight = v.Id == "a" ? 80 : 20 }).ToList(), 0.5) };
        var users = Users(100_000).ToList();

        var moved = users.Count(u => even.Assign(u).VariantId is { } before && skewed.Assign(u).VariantId != before);

        Assert.Equal(0, moved);
        // "a" grew to its new share (80% of 50%), from buckets nobody had; "b" kept its users.
        Assert.Equal(4_000, skewed.Variants[0].Buckets.Sum(r => r.Count));
        Assert.Equal(2_500, skewed.Variants[1].Buckets.Sum(r => r.Count));
    }

    [Fact]
    public void Users_outside_coverage_get_no_variant()
    {
        var tenth = Running("cover", 0.1, ("a", 1), ("b", 1));
        foreach (var user in Users(2_000))
        {
            var bucket = VariantAssigner.Bucket("cover", user);
            Assert.Equal(bucket < 1_000, tenth.Assign(user).VariantId is not null);
        }
    }

    [Fact]
    public void A_paused_or_stopped_experiment_assigns_nobody()
    {
        foreach (var status in new[] { ExperimentDefinition.Paused, ExperimentDefinition.Stopped, ExperimentDefinition.Draft })
        {
            Assert.Null((FiftyFifty with { Status = status }).Assign("u-1").VariantId);
        }

        Assert.Equal("a", FiftyFifty.Assign(Users(1_000).First(u => VariantAssigner.Bucket("salt-1", u) < 5_000)).VariantId);
    }

    [Fact]
    public void Zero_weight_variants_get_no_buckets_and_all_zero_weights_allocate_nothing()
    {
        var oneLive = Running("z", 1.0, ("off", 0), ("on", 10));
        Assert.Empty(oneLive.Variants[0].Buckets);
        Assert.Equal([new BucketRange(0, 10_000)], oneLive.Variants[1].Buckets);
        Assert.All(Running("z", 1.0, ("off", 0)).Variants, v => Assert.Empty(v.Buckets));
    }

    [Fact]
    public void Targets_share_the_remainder_so_every_covered_bucket_is_handed_out()
    {
        var thirds = Running("t", 1.0, ("a", 1), ("b", 1), ("c", 1));

        Assert.Equal([3_334, 3_333, 3_333], thirds.Variants.Select(v => v.Buckets.Sum(r => r.Count)));
        Assert.Equal([new BucketRange(0, 3_334)], thirds.Variants[0].Buckets);
        Assert.Equal([new BucketRange(6_667, 10_000)], thirds.Variants[2].Buckets);
        // 1:5 is 1,666.67 and 8,333.33: the one bucket left over goes to the larger fraction, not the larger share.
        Assert.Equal([1_667, 8_333], Running("t", 1.0, ("a", 1), ("b", 5)).Variants.Select(v => v.Buckets.Sum(r => r.Count)));
    }

    [Fact]
    public void Adjacent_ranges_of_one_variant_merge()
    {
        var first = BucketAllocator.Allocate([new ExperimentVariant("a", 1, null)], 0.1);
        var second = BucketAllocator.Allocate(first, 0.3);

        Assert.Equal([new BucketRange(0, 3_000)], second[0].Buckets);
    }

    private static IEnumerable<string> Users(int count) => Enumerable.Range(0, count).Select(i => $"user-{i}");

    private static ExperimentDefinition Running(string salt, double coverage, params (string Id, int Weight)[] variants) =>
        new("exp", ExperimentDefinition.Running, salt, BucketAllocator.Allocate([.. variants.Select(v => new ExperimentVariant(v.Id, v.Weight, null))], coverage))
        {
            Coverage = coverage,
        };
}
