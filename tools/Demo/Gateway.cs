using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Navigator.Demo;

/// <summary>One answer of <c>POST /v1/career-paths</c>, as the demo reads it.</summary>
public sealed record Answer(int Status, JsonNode? Body, TimeSpan? RetryAfter, TimeSpan Elapsed, int Replica)
{
    public bool Ok => Status == 200;

    private JsonNode? Meta => Body?["meta"];

    public string Provider => Meta?["provider"]?.GetValue<string>() ?? "-";

    public string Model => Meta?["model"]?.GetValue<string>() ?? "-";

    public string FeatureVersion => Meta?["featureVersion"]?.GetValue<string>() ?? "-";

    public string Versions => Meta is { } m
        ? $"{m["featureVersion"]} / sys {m["systemPromptVersion"]} / user {m["userPromptVersion"]}"
        : "-";

    public string Variant => Meta?["variantId"]?.GetValue<string>() ?? "(none)";

    public bool Cached => Meta?["cached"]?.GetValue<bool>() ?? false;

    public bool Failover => Meta?["failover"]?.GetValue<bool>() ?? false;

    public bool Downgraded => Meta?["attempts"]?.AsArray().Any(a => a?["downgraded"]?.GetValue<bool>() == true) ?? false;

    public int InputTokens => Meta?["inputTokens"]?.GetValue<int>() ?? 0;

    public int OutputTokens => Meta?["outputTokens"]?.GetValue<int>() ?? 0;

    public decimal CostUsd => Meta?["costUsd"]?.GetValue<decimal>() ?? 0;

    /// <summary>The providers the gateway tried, in order, with each attempt's outcome.</summary>
    public string Attempts => Meta?["attempts"]?.AsArray() is { Count: > 0 } attempts
        ? string.Join(" -> ", attempts.Select(a => $"{a?["provider"]} {a?["outcome"]}"))
        : "-";

    public string? ProblemType => Ok ? null : Body?["type"]?.GetValue<string>();

    public string? ProblemDetail => Ok ? null : Body?["detail"]?.GetValue<string>();

    public int Recommendations => Body?["recommendations"]?.AsArray().Count ?? 0;
}

/// <summary>The gateway's replicas, its admin API and the fake upstream's fault control, over HTTP.</summary>
public sealed class Gateway(DemoOptions options) : IDisposable
{
    private static readonly string[] Profiles =
    [
        "Software Engineer, 5 years, Python/Java, interested in AI/ML",
        "Data Analyst, 3 years, SQL/Tableau, wants to move into data science",
        "Product Manager, 7 years, B2B SaaS, curious about AI product roles",
        "Mechanical Engineer, 4 years, CAD/FEA, considering robotics",
        "Junior Frontend Developer, 1 year, React/TypeScript, wants to grow into full-stack",
        "DevOps Engineer, 6 years, Kubernetes/Terraform, interested in platform engineering leadership",
    ];

    private const string Market = "AI Engineer: $120k-180k, ML Engineer: $130k-200k, Data Scientist: $110k-170k, Platform Engineer: $140k-190k";

    private readonly HttpClient[] _replicas = [.. options.Replicas.Select(u => Client(u, options.ClientKey))];
    private readonly HttpClient _admin = Client(options.Replicas[0], options.AdminKey);
    private readonly HttpClient _upstream = new() { BaseAddress = options.Upstream, Timeout = TimeSpan.FromSeconds(10) };
    private int _sent;

    public int ReplicaCount => _replicas.Length;

    /// <summary>Requests the demo sent to <c>/v1/career-paths</c>, whatever their answer.</summary>
    public int Sent => Volatile.Read(ref _sent);

    public static string Profile(int i) => Profiles[i % Profiles.Length];

    public async Task<Answer> RecommendAsync(int replica, string user, string? provider = null, bool noStore = true, int profile = 0)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/career-paths")
        {
            Content = JsonContent.Create(new { userId = user, userProfile = Profile(profile), jobMarketData = Market, provider }),
        };
        if (noStore)
        {
            request.Headers.CacheControl = new CacheControlHeaderValue { NoStore = true };
        }

        Interlocked.Increment(ref _sent);
        var clock = Stopwatch.StartNew();
        using var response = await _replicas[replica].SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new Answer((int)response.StatusCode, text.Length > 0 ? JsonNode.Parse(text) : null, response.Headers.RetryAfter?.Delta, clock.Elapsed, replica);
    }

    public async Task<JsonNode> AdminGetAsync(string path) =>
        JsonNode.Parse(await Ensure(await _admin.GetAsync(path)).Content.ReadAsStringAsync())!;

    public async Task<JsonNode?> AdminSendAsync(HttpMethod method, string path, object body)
    {
        using var response = await _admin.SendAsync(new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) });
        return JsonNode.Parse(await Ensure(response).Content.ReadAsStringAsync());
    }

    public async Task<JsonNode?> AdminPublishAsync(string path, string json)
    {
        using var response = await _admin.PostAsync(path, new StringContent(json, new MediaTypeHeaderValue("application/json")));
        return JsonNode.Parse(await Ensure(response).Content.ReadAsStringAsync());
    }

    /// <summary>The cluster-wide circuit state of <paramref name="provider"/> (closed, halfOpen, open).</summary>
    public async Task<string> CircuitAsync(string provider) =>
        (await AdminGetAsync("/admin/providers")).AsArray().First(p => p?["provider"]?.GetValue<string>() == provider)!["state"]!.GetValue<string>();

    public async Task SetFaultAsync(string provider, object faults) =>
        Ensure(await _upstream.PutAsJsonAsync($"/_control/{provider}", faults));

    public async Task ClearFaultsAsync() => Ensure(await _upstream.DeleteAsync("/_control"));

    public void Dispose()
    {
        foreach (var client in _replicas)
        {
            client.Dispose();
        }

        _admin.Dispose();
        _upstream.Dispose();
    }

    private static HttpClient Client(Uri address, string key)
    {
        var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static HttpResponseMessage Ensure(HttpResponseMessage response) => response.IsSuccessStatusCode
        ? response
        : throw new HttpRequestException(
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery} answered {(int)response.StatusCode}: "
            + response.Content.ReadAsStringAsync().GetAwaiter().GetResult());
}
