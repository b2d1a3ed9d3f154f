using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Navigator.Grains.Budget;
using Orleans.Configuration;
using Navigator.Grains.Hosting;

namespace Navigator.LedgerBench;

/// <summary>
/// Drives one month's BudgetGrain the way API replicas do, against a running silo (see
/// tools/bench/ledger-bench.sh): several simulated replicas reserve and settle requests on their
/// leases in memory and report every 250 ms. It prints the ledger blob's size and the latency of a
/// lease renewal on its own, before and after the requests, to show the ledger does not grow with them.
/// </summary>
public static class LedgerBenchProgram
{
    private static readonly TimeSpan ReportPeriod = TimeSpan.FromMilliseconds(250);

    public static async Task<int> Main(string[] args)
    {
        var storage = Environment.GetEnvironmentVariable("ConnectionStrings__AzureStorage") ?? "UseDevelopmentStorage=true";
        var clusterId = Environment.GetEnvironmentVariable("Orleans__ClusterId") ?? "navigator-dev";
        var serviceId = Environment.GetEnvironmentVariable("Orleans__ServiceId") ?? "navigator";
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        var replicaCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, serviceId));
            client.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(storage));
            client.UseNavigatorClientDefaults();
        });
        using var host = builder.Build();
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IClusterClient>();
        var container = new BlobContainerClient(storage, $"{serviceId.ToLowerInvariant()}-ledger");

        var month = $"bench-{Guid.NewGuid():N}";
        var budget = grains.GetGrain<IBudgetGrain>(month);
        await budget.SetLimitAsync(1_000_000m, 0m, "bench");
        var (sizeBefore, renewBefore) = (await BlobSizeAsync(container, month), await RenewLatencyAsync(budget));

        // Each replica's workers reserve $0.01 and settle $0.004 per request; a reporter sends its lease every 250 ms.
        var replicas = Enumerable.Range(0, replicaCount).Select(i => new Replica($"bench-replica-{i}", budget)).ToList();
        using var stop = new CancellationTokenSource();
        var reporters = replicas.Select(r => r.ReportLoopAsync(stop.Token)).ToList();
        var clock = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(replicas.SelectMany(r => Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < requests)
            {
                var hold = await r.ReserveAsync(0.01m);
                hold.Settle(0.01m, 0.004m);
            }
        }))));
        var elapsed = clock.Elapsed;
        await stop.CancelAsync();
        await Task.WhenAll(reporters);
        foreach (var replica in replicas)
        {
            await replica.ReleaseAsync();
        }

        await Task.Delay(TimeSpan.FromSeconds(1)); // the write-behind of the last reports
        var status = await budget.GetStatusAsync();
        var (sizeAfter, renewAfter) = (await BlobSizeAsync(container, month), await RenewLatencyAsync(budget));
        var renewals = replicas.Sum(r => r.Renewals);
        if (status.SpentUsd != requests * 0.004m || status.Leases.Count != 0)
        {
            Console.Error.WriteLine($"Ledger mismatch: spent {status.SpentUsd}, expected {requests * 0.004m}; {status.Leases.Count} leases open");
            return 1;
        }

        Console.WriteLine("| requests | replicas | seconds | requests/s | grain calls | blob bytes before | blob bytes after | renewal p50 ms before | after |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {requests} | {replicaCount} | {elapsed.TotalSeconds:0.0} | {requests / elapsed.TotalSeconds:0} | {renewals} | {sizeBefore} | {sizeAfter} | {renewBefore:0.00} | {renewAfter:0.00} |"));
        await host.StopAsync();
        return 0;
    }

    private static async Task<long> BlobSizeAsync(BlobContainerClient container, string month)
    {
        long size = 0;
        await foreach (var blob in container.GetBlobsAsync())
        {
            if (blob.Name.Contains(month, StringComparison.Ordinal))
            {
                size += blob.Properties.ContentLength ?? 0;
            }
        }

        return size;
    }

    /// <summary>The median of 50 routine renewals of a throwaway lease (after the first, they change nothing and write nothing).</summary>
    private static async Task<double> RenewLatencyAsync(IBudgetGrain budget)
    {
        var samples = new List<double>();
        var lease = new LeaseAccount();
        for (var i = 0; i < 50; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var grant = await budget.RenewLeaseAsync(lease.NextReport("latency-probe", 0.01m, 0m, release: false));
            lease.Apply(grant, DateTimeOffset.UtcNow);
            samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        lease.Seal();
        await budget.RenewLeaseAsync(lease.NextReport("latency-probe", 0m, 0m, release: true));
        samples.Sort();
        return samples[samples.Count / 2];
    }

    /// <summary>A replica's side of the lease protocol, as the API's BudgetLeases runs it.</summary>
    private sealed class Replica(string id, IBudgetGrain budget)
    {
        private readonly SemaphoreSlim _renewal = new(1, 1);
        private readonly LeaseAccount _lease = new();

        public int Renewals;

        public async Task<(LeaseAccount Lease, decimal Amount)> ReserveAsync(decimal amount)
        {
            while (true)
            {
                var lease = _lease;
                if (lease.TryReserve(amount, DateTimeOffset.UtcNow))
                {
                    return (lease, amount);
                }

                await SendAsync(amount);
            }
        }

        public async Task ReportLoopAsync(CancellationToken cancellationToken)
        {
            using var timer = new PeriodicTimer(ReportPeriod);
            try
            {
                while (await timer.WaitForNextTickAsync(cancellationToken))
                {
                    await SendAsync(0m);
                }
            }
            catch (OperationCanceledException)
            {
                // the benchmark is over
            }
        }

        public async Task ReleaseAsync()
        {
            _lease.Seal();
            await budget.RenewLeaseAsync(_lease.NextReport(id, 0m, 0m, release: true));
        }

        private async Task SendAsync(decimal need)
        {
            await _renewal.WaitAsync();
            try
            {
                var sentAt = DateTimeOffset.UtcNow;
                var grant = await budget.RenewLeaseAsync(_lease.NextReport(id, need, 2m, release: false));
                _lease.Apply(grant, sentAt);
                Interlocked.Increment(ref Renewals);
            }
            finally
            {
                _renewal.Release();
            }
        }
    }
}

internal static class HoldExtensions
{
    public static void Settle(this (LeaseAccount Lease, decimal Amount) hold, decimal reserved, decimal actual) => hold.Lease.Settle(reserved, actual);
}
