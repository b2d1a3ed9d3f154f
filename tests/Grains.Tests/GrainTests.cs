using Navigator.Grains.Budget;
using Navigator.Grains.Experiments;
using Navigator.Grains.PromptConfig;

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
    public async Task Experiment_assignment_is_sticky_and_chooses_the_provider()
    {
        var grain = fixture.Client.GetGrain<IExperimentGrain>("provider_comparison");
        var providers = new HashSet<string?>();
        for (var i = 0; i < 50; i++)
        {
            var first = await grain.AssignAsync($"user-{i}");
            var again = await grain.AssignAsync($"user-{i}");
            Assert.Equal(first, again);
            Assert.Contains(first.VariantId, new[] { "variant_a", "variant_b" });
            Assert.Equal(first.VariantId == "variant_a" ? "openai" : "anthropic", first.Provider);
            providers.Add(first.Provider);
        }

        Assert.Equal(2, providers.Count);
    }

    [Fact]
    public async Task Unknown_experiment_assigns_no_variant()
    {
        var assignment = await fixture.Client.GetGrain<IExperimentGrain>($"missing-{Guid.NewGuid():N}").AssignAsync("u1");
        Assert.Null(assignment.VariantId);
        Assert.Null(assignment.Provider);
    }

    [Fact]
    public async Task Budget_never_grants_past_the_limit_under_concurrency()
    {
        var month = $"t-{Guid.NewGuid():N}";
        var budget = fixture.Client.GetGrain<IBudgetGrain>(month);
        await budget.SetLimitAsync(10m, null, "test");

        // 200 concurrent reservations of $0.30 against $10: exactly 33 fit.
        var results = await Task.WhenAll(Enumerable.Range(0, 200)
            .Select(i => budget.ReserveAsync($"r{i}", 0.30m, TimeSpan.FromMinutes(5))));

        var granted = results.Count(r => r.Granted);
        Assert.Equal(33, granted);
        Assert.All(results.Where(r => !r.Granted), r => Assert.Equal(ReservationOutcome.LimitExceeded, r.Outcome));
        var status = await budget.GetStatusAsync();
        Assert.Equal(9.90m, status.ReservedUsd);
        Assert.True(status.SpentUsd + status.ReservedUsd <= status.LimitUsd);

        // Settle each granted one at a lower actual cost; settling twice changes nothing.
        var grantedIds = Enumerable.Range(0, 200).Where(i => results[i].Granted).Select(i => $"r{i}").ToList();
        await Task.WhenAll(grantedIds.Select(id => budget.SettleAsync(id, 0.10m)));
        var again = await budget.SettleAsync(grantedIds[0], 0.10m);
        Assert.Equal(SettlementOutcome.AlreadySettled, again.Outcome);

        status = await budget.GetStatusAsync();
        Assert.Equal(3.30m, status.SpentUsd);
        Assert.Equal(0m, status.ReservedUsd);
        Assert.Equal(0, status.OpenReservations);
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
        foreach (var (id, cost) in new[] { ("a", 0.3m), ("b", 0.3m), ("c", 0.1m), ("d", 0.25m) })
        {
            Assert.True((await budget.ReserveAsync(id, cost, TimeSpan.FromMinutes(1))).Granted);
            await budget.SettleAsync(id, cost);
        }

        // Spend went 0.3 → 0.6 (50% crossed) → 0.7 → 0.95 (80% crossed); 100% was never reached.
        Assert.Equal([0.5, 0.8], alerts.Order());
    }
}
