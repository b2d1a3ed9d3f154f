using System.Diagnostics.Metrics;
using Navigator.Api.Options;
using Navigator.Api.Pipeline;
using Navigator.Grains.Budget;

namespace Navigator.UnitTests;

public sealed class TokenLimiterTests
{
    private static IMeterFactory Meters() => TestDoubles.Meters();

    private static OutputTokenGovernor Governor(int window = 10) =>
        new(TestDoubles.Options(new TokenLimiterOptions { RollingWindow = window }), Meters());

    [Fact]
    public void Max_tokens_stays_at_the_configured_value_while_the_average_is_on_target()
    {
        var governor = Governor();
        Assert.Equal(800, governor.MaxTokens(800, 500));
        foreach (var tokens in new[] { 400, 500, 450 })
        {
            governor.Record(tokens);
        }

        Assert.Equal(450, governor.RollingAverage);
        Assert.Equal(800, governor.MaxTokens(800, 500));
    }

    [Fact]
    public void Max_tokens_tightens_in_proportion_when_the_average_drifts_above_target()
    {
        var governor = Governor();
        for (var i = 0; i < 10; i++)
        {
            governor.Record(625);
        }

        // 800 × 500 / 625 = 640.
        Assert.Equal(640, governor.MaxTokens(800, 500));

        // Far above target it never goes below the target itself.
        for (var i = 0; i < 10; i++)
        {
            governor.Record(5000);
        }

        Assert.Equal(500, governor.MaxTokens(800, 500));
    }

    [Fact]
    public void The_average_covers_only_the_rolling_window()
    {
        var governor = Governor(window: 3);
        foreach (var tokens in new[] { 10_000, 300, 300, 300 })
        {
            governor.Record(tokens);
        }

        Assert.Equal(300, governor.RollingAverage);
        Assert.Equal(800, governor.MaxTokens(800, 500));
    }

    [Fact]
    public void Budget_monitor_keeps_the_newest_view_and_reports_utilization_per_month()
    {
        var monitor = new BudgetMonitor(Meters());
        Assert.Null(monitor.Utilization("2026-11"));
        monitor.Observe(new BudgetStatus("2026-11", 100m, 50m, 30m, [], 0m, null, 80m, 0m));
        monitor.Observe(new BudgetStatus("2026-11", 100m, 40m, 0m, [], 0m, null, 80m, 0m)); // older: less spent
        Assert.Equal(0.8m, monitor.Utilization("2026-11"));
        Assert.Null(monitor.Utilization("2026-12"));
        monitor.Observe(new BudgetStatus("2026-12", 100m, 1m, 0m, [], 0m, null, 1m, 0m));
        Assert.Equal(0.01m, monitor.Utilization("2026-12"));
    }
}
