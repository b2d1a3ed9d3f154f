using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Navigator.Testing;

namespace Navigator.Api.Tests;

/// <summary>One API replica hosted by WebApplicationFactory, joined to a test silo's cluster through Azure Table membership.</summary>
public sealed class ApiReplica(TestSilo silo, IReadOnlyDictionary<string, string>? settings = null, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    public const string ClientKey = "test-client-key";
    public const string AdminKey = "test-admin-key";
    public const string AliceAdminKey = "alice-admin-key";
    public const string ReaderAdminKey = "reader-admin-key";

    public const int PerUserRequestsPerDay = 20;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"navigator-api-tests-{Guid.NewGuid():N}");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:AzureStorage", TestStorage.ConnectionString);
        builder.UseSetting("Orleans:ClusterId", silo.ClusterId);
        builder.UseSetting("Orleans:ServiceId", silo.ServiceId);
        builder.UseSetting("NAVIGATOR_DATA_DIR", DataDirectory);
        builder.UseSetting("Auth:ClientKey", ClientKey);
        builder.UseSetting("Auth:AdminKey", AdminKey);
        builder.UseSetting("Auth:AdminKeys:alice:Key", AliceAdminKey);
        builder.UseSetting("Auth:AdminKeys:reader:Key", ReaderAdminKey);
        builder.UseSetting("Auth:AdminKeys:reader:Scope", "read");
        // Tests send bursts from one client key; RateLimitTests turn the per-client limit on.
        builder.UseSetting("clientRateLimits:enabled", "false");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("perUser:requestsPerDay", PerUserRequestsPerDay.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("perUser:tokensPerDay", "10000000");
        // Most tests send the same profile again and again to measure spend and failover: they run with the
        // response cache off. ResponseCacheTests turn it on.
        builder.UseSetting("cache:enabled", "false");
        // Many tests match the month's spend to the answers served: the LLM judge (5% by default) would add its own
        // calls. ExperimentsApiTests turn it on.
        builder.UseSetting("experiments:judgeSampleRate", "0");
        // Tests that count attempts and spend expect the providers one after another; HedgingTests turn hedging on.
        builder.UseSetting("providers:hedging:enabled", "false");
        // Fast simulated providers keep the suite quick.
        builder.UseSetting("providers:openai:simulated:latencyMs", "5");
        builder.UseSetting("providers:openai:simulated:latencyJitterMs", "5");
        builder.UseSetting("providers:anthropic:simulated:latencyMs", "5");
        builder.UseSetting("providers:anthropic:simulated:latencyJitterMs", "5");
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(s => s.AddSingleton<IMeterFactory, LastingMeterFactory>());
        if (TestClock.IsShifted)
        {
            builder.ConfigureTestServices(s => s.AddSingleton(TestClock.Suite));
        }

        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }

    public HttpClient Client(string? key = ClientKey)
    {
        var client = CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }
}

/// <summary>
/// A meter factory whose meters outlive their replica. Several replicas share this test process, and
/// OpenTelemetry merges the same-named instruments of every replica's meters into one metric; a stopped
/// replica disposing its meters would end that metric on the /metrics of every other replica. (One
/// replica per process, as in production, never meets this.)
/// </summary>
public sealed class LastingMeterFactory : IMeterFactory
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Meter> _meters = new(StringComparer.Ordinal);

    public Meter Create(MeterOptions options) =>
        _meters.GetOrAdd($"{options.Name}|{options.Version}", _ => new Meter(new MeterOptions(options.Name)
        {
            Version = options.Version,
            Tags = options.Tags,
            Scope = this,
        }));

    public void Dispose()
    {
        // Kept on purpose: see the summary.
    }
}

/// <summary>A real silo on Azurite and <see cref="ReplicaCount"/> API replicas in front of it.</summary>
public abstract class ClusterWithReplicas(string name, int replicaCount) : IAsyncLifetime
{
    private TestSilo? _silo;

    /// <summary>Extra silo configuration.</summary>
    protected virtual IReadOnlyDictionary<string, string?>? SiloSettings => null;

    /// <summary>Extra API configuration, applied to every replica.</summary>
    protected virtual IReadOnlyDictionary<string, string>? ApiSettings => null;

    /// <summary>Runs before the silo and replicas start (e.g. to start a fake upstream).</summary>
    protected virtual Task StartDependenciesAsync() => Task.CompletedTask;

    protected virtual ValueTask StopDependenciesAsync() => ValueTask.CompletedTask;

    public int ReplicaCount => replicaCount;

    public IReadOnlyList<ApiReplica> Replicas { get; private set; } = [];

    /// <summary>One more replica in the same cluster, owned (and disposed) by the caller, with settings on top of the fixture's.</summary>
    public ApiReplica NewReplica(IReadOnlyDictionary<string, string>? settings = null, Action<IServiceCollection>? services = null) =>
        new(_silo!, (ApiSettings ?? new Dictionary<string, string>()).Concat(settings ?? new Dictionary<string, string>())
            .GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value), services);

    /// <summary>
    /// <paramref name="count"/> more replicas whose clocks stand in a month no other test uses, so the test may
    /// change that month's budget freely and depends on no other test's spend. The caller disposes them.
    /// </summary>
    public OwnMonth InOwnMonth(int count = 1, IReadOnlyDictionary<string, string>? settings = null)
    {
        var clock = TestClock.InOwnMonth();
        return new OwnMonth(TestClock.MonthOf(clock), [.. Enumerable.Range(0, count).Select(_ => NewReplica(settings, s => s.AddSingleton<TimeProvider>(clock)))]);
    }

    public async Task InitializeAsync()
    {
        await StartDependenciesAsync();
        _silo = await TestSilo.StartAsync(TestStorage.NewServiceId(name), TestStorage.NewServiceId(name), SiloSettings);
        Replicas = Enumerable.Range(0, replicaCount).Select(_ => new ApiReplica(_silo, ApiSettings)).ToList();
    }

    public async Task DisposeAsync()
    {
        foreach (var replica in Replicas)
        {
            await replica.DisposeAsync();
        }

        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }

        await StopDependenciesAsync();
    }
}

/// <summary>Replicas in a month of their own (<see cref="ClusterWithReplicas.InOwnMonth"/>).</summary>
public sealed class OwnMonth(string month, IReadOnlyList<ApiReplica> replicas) : IAsyncDisposable
{
    public string Month { get; } = month;

    public IReadOnlyList<ApiReplica> Replicas { get; } = replicas;

    public HttpClient Admin => Replicas[0].Client(ApiReplica.AdminKey);

    public HttpClient Client(int replica = 0) => Replicas[replica].Client();

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in Replicas)
        {
            await replica.DisposeAsync();
        }
    }
}

public sealed class ApiFixture() : ClusterWithReplicas("api", 1)
{
    public const string ClientKey = ApiReplica.ClientKey;
    public const string AdminKey = ApiReplica.AdminKey;

    public string DataDirectory => Replicas[0].DataDirectory;

    public HttpClient Client(string? key = ClientKey) => Replicas[0].Client(key);
}

public sealed class TwoReplicaFixture() : ClusterWithReplicas("replicas", 2)
{
    /// <summary>The 1,000-request load test measures the budget, not latency: a shared CI machine must not turn it into 504s.</summary>
    protected override IReadOnlyDictionary<string, string> ApiSettings => new Dictionary<string, string> { ["request:deadlineMs"] = "30000" };
}

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "api";
}

[CollectionDefinition(Name)]
public sealed class ReplicaCollection : ICollectionFixture<TwoReplicaFixture>
{
    public const string Name = "replicas";
}
