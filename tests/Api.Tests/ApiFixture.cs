using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Navigator.Testing;

namespace Navigator.Api.Tests;

/// <summary>A real silo on Azurite plus the API hosted by WebApplicationFactory, connected through Azure Table membership.</summary>
public sealed class ApiFixture : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string ClientKey = "test-client-key";
    public const string AdminKey = "test-admin-key";

    private TestSilo? _silo;
    private readonly string _clusterId = TestStorage.NewServiceId("api");
    private readonly string _serviceId = TestStorage.NewServiceId("api");

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"navigator-api-tests-{Guid.NewGuid():N}");

    public async Task InitializeAsync()
    {
        _silo = await TestSilo.StartAsync(_clusterId, _serviceId);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:AzureStorage", TestStorage.ConnectionString);
        builder.UseSetting("Orleans:ClusterId", _clusterId);
        builder.UseSetting("Orleans:ServiceId", _serviceId);
        builder.UseSetting("NAVIGATOR_DATA_DIR", DataDirectory);
        builder.UseSetting("Auth:ClientKey", ClientKey);
        builder.UseSetting("Auth:AdminKey", AdminKey);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        // Fast simulated providers keep the suite quick.
        builder.UseSetting("providers:openai:simulated:latencyMs", "5");
        builder.UseSetting("providers:openai:simulated:latencyJitterMs", "5");
        builder.UseSetting("providers:anthropic:simulated:latencyMs", "5");
        builder.UseSetting("providers:anthropic:simulated:latencyJitterMs", "5");
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

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }

        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "api";
}
