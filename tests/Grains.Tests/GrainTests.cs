using Navigator.Grains.Budget;
using Navigator.Grains.Experiments;
using Navigator.Grains.PromptConfig;
using Navigator.Testing;

namespace Navigator.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class GrainTests(ClusterFixture fixture)
{
    [Fact]
    public void The_cluster_has_two_silos()
    {
        Assert.Equal(2, fixture.Cluster.GetActiveSilos().Count());
    }

    [Fact]
    public void Grain_state_is_stored_with_the_version_tolerant_orleans_serializer()
    {
        var services = fixture.Cluster.GetSiloServiceProvider();
        Assert.IsType<Orleans.Storage.OrleansGrainStorageSerializer>(
            Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Orleans.Storage.IGrainStorageSerializer>(services));
    }

    [Fact]
    public async Task PromptConfig_is_seeded_from_the_repository_files()
    {
        var snapshot = (await fixture.Client.GetGrain<IPromptConfigGrain>("career_path_navigator").GetActiveAsync())!;

        Assert.Equal("1.2.3", snapshot.FeatureVersion);
        Assert.Equal("v2.1", snapshot.SystemPromptVersion);
        Assert.Equal("v1.5", snapshot.UserPromptVersion);
        Assert.Contains("Career Path Navigator", snapshot.SystemPrompt, StringComparison.Ordinal);
        Assert.Contains("{{ user_profile }}", snapshot.UserTemplate, StringComparison.Ordinal);
        Assert.Equal("provider_comparison", snapshot.Settings.ExperimentId);
        Assert.Equal("gpt-4o", snapshot.Settings.Providers["openai"].Model);
        Assert.Equal(3000, snapshot.Settings.MaxInputTokens);
    }

    [Fact]
    public async Task Experiment_definition_is_seeded_and_assigns_sticky_variants_with_their_provider()
    {
        var definition = await fixture.Client.GetGrain<IExperimentGrain>("provider_comparison").GetDefinitionAsync();
        Assert.NotNull(definition);
        Assert.True(definition.IsRunning);
        var providers = new HashSet<string?>();
        for (var i = 0; i < 50; i++)
        {
            var first = definition.Assign($"user-{i}");
            Assert.Contains(first.VariantId, new[] { "variant_a", "variant_b" });
            Assert.Equal(first.VariantId == "variant_a" ? "openai" : "anthropic", first.Provider);
            providers.Add(first.Provider);
        }

        Assert.Equal(2, providers.Count);
    }

    [Fact]
    public async Task Unknown_experiment_has_no_definition()
    {
        Assert.Null(await fixture.Client.GetGrain<IExperimentGrain>($"missing-{Guid.NewGuid():N}").GetDefinitionAsync());
    }

    [Fact]
    public async Task Leases_never_grow_past_the_limit_under_concurrency()
    {
        var month = $"t-{Guid.NewGuid():N}";
        var budget = fixture.Client.GetGrain<IBudgetGrain>(month);
        await budget.SetLimitAsync(10m, null, "test");

        // 200 replicas each ask for a lease of exactly $0.30 at once, against $10: exactly 33 fit.
        var leases = Enumerable.Range(0, 200).Select(i => new TestLease(budget, $"replica-{i}")).ToList();
        var grants = await Task.WhenAll(leases.Select(l => l.NeedAsync(0.30m)));

        var granted = Enumerable.Range(0, 200).Where(i => grants[i].Outcome == LeaseOutcome.Granted).ToList();
        Assert.Equal(33, granted.Count);
        Assert.All(grants.Where(g => g.Outcome != LeaseOutcome.Granted), g => Assert.Equal(LeaseOutcome.LimitExceeded, g.Outcome));
        // The first refused one holds the last $0.10 (for attempts that would still fit); nothing more was set aside.
        var status = await budget.GetStatusAsync();
        Assert.Equal(10.00m, status.ReservedUsd);
        Assert.Equal(10.00m, status.PeakCommittedUsd);
        Assert.Equal(0.10m, grants.Where(g => g.Outcome != LeaseOutcome.Granted).Sum(g => g.CeilingUsd));

        // Each granted lease reports $0.10 charged and returns the rest, the others return theirs unused;
        // repeating a report changes nothing.
        await Task.WhenAll(Enumerable.Range(0, 200).Where(i => leases[i].LeaseId is not null)
            .Select(i => leases[i].ReportAsync(granted.Contains(i) ? 0.10m : 0m, release: true)));
        Assert.Equal(LeaseOutcome.Closed, (await leases[granted[0]].RepeatAsync()).Outcome);

        status = await budget.GetStatusAsync();
        Assert.Equal(3.30m, status.SpentUsd);
        Assert.Equal(0m, status.ReservedUsd);
        Assert.Empty(status.Leases);
    }

    [Fact]
    public async Task A_report_applied_twice_counts_once()
    {
        var budget = fixture.Client.GetGrain<IBudgetGrain>($"t-{Guid.NewGuid():N}");
        await budget.SetLimitAsync(10m, 0m, "test");
        var lease = new TestLease(budget);
        Assert.Equal(LeaseOutcome.Granted, (await lease.NeedAsync(2m)).Outcome);
        await lease.ReportAsync(0.5m, inFlightUsd: 0.25m);
        await lease.RepeatAsync();
        var status = await budget.GetStatusAsync();
        Assert.Equal(0.5m, status.SpentUsd);
        Assert.Equal(1.5m, status.ReservedUsd);
        Assert.Equal(0.25m, status.InFlightUsd);
        Assert.Equal(lease.LeaseId, Assert.Single(status.Leases).LeaseId);
    }

}

[Collection(ClusterCollection.Name)]
public sealed class BudgetAlertTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Crossing_a_threshold_raises_its_alert_metric_once()
    {
        var month = $"alert-{Guid.NewGuid():N}";
        var alerts = new System.Collections.Concurrent.ConcurrentBag<double>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Budget.BudgetMetrics.MeterName && instrument.Name == "navigator.budget.alerts")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var values = tags.ToArray().ToDictionary(t => t.Key, t => t.Value);
            if (Equals(values["month"], month))
            {
                alerts.Add((double)values["threshold"]!);
            }
        });
        listener.Start();

        var budget = fixture.Client.GetGrain<Budget.IBudgetGrain>(month);
        await budget.SetLimitAsync(1m, 0m, "test");
        var lease = new TestLease(budget);
        foreach (var cost in new[] { 0.3m, 0.3m, 0.1m, 0.25m })
        {
            Assert.Equal(LeaseOutcome.Granted, (await lease.NeedAsync(cost)).Outcome);
            await lease.ReportAsync(cost);
        }

        // Spend went 0.3 → 0.6 (50% crossed) → 0.7 → 0.95 (80% crossed); 100% was never reached.
        Assert.Equal([0.5, 0.8], alerts.Order());
    }
}
