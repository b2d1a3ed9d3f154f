using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Navigator.Grains.Budget;
using Orleans.Configuration;

namespace Navigator.LedgerBench;

/// <summary>
/// Durable reserve+settle pairs per second on one month's BudgetGrain, at several concurrency
/// levels, against a running silo (see tools/bench/ledger-bench.sh). Every acknowledged call has
/// been written to storage first, so this measures the group commit, not an in-memory counter.
/// </summary>
public static class LedgerBenchProgram
{
    public static async Task<int> Main(string[] args)
    {
        var storage = Environment.GetEnvironmentVariable("ConnectionStrings__AzureStorage") ?? "UseDevelopmentStorage=true";
        var clusterId = Environment.GetEnvironmentVariable("Orleans__ClusterId") ?? "navigator-dev";
        var serviceId = Environment.GetEnvironmentVariable("Orleans__ServiceId") ?? "navigator";
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        int[] levels = args.Length > 1 ? [.. args[1].Split(',').Select(l => int.Parse(l, CultureInfo.InvariantCulture))] : [1, 16, 256];

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, serviceId));
            client.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(storage));
        });
        using var host = builder.Build();
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IClusterClient>();

        Console.WriteLine($"| callers | pairs | seconds | pairs/s | p50 pair ms | p99 pair ms |");
        Console.WriteLine($"|---:|---:|---:|---:|---:|---:|");
        foreach (var callers in levels)
        {
            // A fresh month per level, so each level starts from an empty ledger.
            var budget = grains.GetGrain<IBudgetGrain>($"bench-{callers}-{Guid.NewGuid():N}", grainClassNamePrefix: null);
            await budget.SetLimitAsync(1_000_000m, 0m, "bench");
            var stop = Stopwatch.StartNew();
            var duration = TimeSpan.FromSeconds(seconds);
            var latencies = new List<double>[callers];
            var workers = Enumerable.Range(0, callers).Select(async worker =>
            {
                var mine = latencies[worker] = [];
                for (var i = 0; stop.Elapsed < duration; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    var id = $"{worker}:{i}";
                    var reserved = await budget.ReserveAsync(id, 0.01m, TimeSpan.FromMinutes(5));
                    if (!reserved.Granted)
                    {
                        throw new InvalidOperationException($"Reservation refused: {reserved.Outcome}");
                    }

                    await budget.SettleAsync(id, 0.004m);
                    mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }).ToList();
            await Task.WhenAll(workers);
            var elapsed = stop.Elapsed.TotalSeconds;
            var all = latencies.SelectMany(l => l).Order().ToArray();
            var status = await budget.GetStatusAsync();
            if (status.OpenReservations != 0 || status.SpentUsd != all.Length * 0.004m)
            {
                Console.Error.WriteLine($"Ledger mismatch: {status}");
                return 1;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {callers} | {all.Length} | {elapsed:0.0} | {all.Length / elapsed:0} | {Percentile(all, 0.50):0.0} | {Percentile(all, 0.99):0.0} |"));
        }

        await host.StopAsync();
        return 0;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
}
