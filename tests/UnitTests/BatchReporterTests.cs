using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using Navigator.Api.Pipeline;

namespace Navigator.UnitTests;

/// <summary>The replica-side batching shared by the experiment and statistics reporters.</summary>
public sealed class BatchReporterTests
{
    [Fact]
    public async Task A_failed_send_is_retried_as_the_same_batch_and_newer_counts_wait_for_the_next()
    {
        var reporter = new Reporter { Fail = true };
        reporter.Count("grain-a", "x", 2);
        await reporter.FlushAsync(CancellationToken.None);
        reporter.Count("grain-a", "x", 5);
        reporter.Fail = false;
        await reporter.FlushAsync(CancellationToken.None);
        await reporter.FlushAsync(CancellationToken.None);

        Assert.Equal(3, reporter.Sent.Count);
        var (failed, retried, next) = (reporter.Sent[0], reporter.Sent[1], reporter.Sent[2]);
        Assert.Equal(failed.Sequence, retried.Sequence);
        Assert.Equal(2, retried.Items["x"]);
        Assert.True(next.Sequence > retried.Sequence);
        Assert.Equal(5, next.Items["x"]);
    }

    [Fact]
    public async Task A_grain_idle_for_a_flush_is_forgotten_and_its_next_batch_still_has_a_higher_sequence()
    {
        var reporter = new Reporter();
        reporter.Count("hour-1", "x", 1);
        await reporter.FlushAsync(CancellationToken.None);
        await reporter.FlushAsync(CancellationToken.None); // idle: retired
        reporter.Count("hour-2", "y", 1);
        reporter.Count("hour-1", "x", 1);
        await reporter.FlushAsync(CancellationToken.None);

        var hour1 = reporter.Sent.Where(b => b.Key == "hour-1").ToList();
        Assert.Equal(2, hour1.Count);
        Assert.True(hour1[1].Sequence > hour1[0].Sequence);
        Assert.Equal(3, reporter.Sent.Select(b => b.Sequence).Distinct().Count());
    }

    [Fact]
    public async Task Counts_added_while_flushing_are_never_lost()
    {
        var reporter = new Reporter();
        using var done = new CancellationTokenSource();
        var flusher = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                await reporter.FlushAsync(CancellationToken.None);
            }
        });
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                reporter.Count($"grain-{i % 3}", "x", 1);
            }
        })));
        await done.CancelAsync();
        await flusher;
        await reporter.FlushAsync(CancellationToken.None);

        Assert.Equal(80_000, reporter.Sent.Sum(b => b.Items["x"]));
    }

    private sealed record Sent(string Key, long Sequence, Dictionary<string, int> Items);

    private sealed class Reporter() : BatchReporter<string, StrongBox<int>>(
        new BudgetLeases(TestDoubles.Grains(), new BudgetMonitor(TestDoubles.Meters()), TimeProvider.System, NullLogger<BudgetLeases>.Instance),
        NullLogger.Instance)
    {
        private readonly ConcurrentQueue<Sent> _sent = new();

        public bool Fail { get; set; }

        public List<Sent> Sent => [.. _sent];

        public void Count(string grain, string item, int n) => Add(grain, item, box => box.Value += n);

        protected override Task SendAsync(string grainKey, string replicaId, long sequence, IReadOnlyDictionary<string, StrongBox<int>> items)
        {
            _sent.Enqueue(new Sent(grainKey, sequence, items.ToDictionary(i => i.Key, i => i.Value.Value)));
            return Fail ? Task.FromException(new InvalidOperationException("storage refused")) : Task.CompletedTask;
        }
    }
}
