using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using CsCheck;
using Navigator.Api.Pipeline;
using Navigator.Testing;

namespace Navigator.Api.Tests;

/// <summary>
/// Generated hostile bodies (CsCheck) for the client and admin endpoints that take one: random text, mistyped
/// fields, lone surrogates, nesting 10,000 deep, NUL bytes, invalid UTF-8, duplicate keys and huge strings. Every
/// body is invalid by construction, so each must get a 4xx, never a 5xx or a 2xx, and nothing may change.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class FuzzTests(ApiFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Feature = "career_path_navigator";

    /// <summary>Every field an endpoint here reads, each given a value of a type it never accepts.</summary>
    private static readonly string[] Fields =
        ["userId", "userProfile", "jobMarketData", "provider", "rating", "comment", "limitUsd", "dailyPacingFactor", "mode", "reason",
         "version", "toVersion", "text", "id", "feature", "variants", "coverage", "weights", "start", "variantId", "featureVersion"];

    // Arrays and objects: no field here takes either (numbers, strings and booleans are each right for some field).
    private static readonly Gen<string> WrongValue = Gen.OneOf(
        Gen.Int.Select(i => $"[{i.ToString(System.Globalization.CultureInfo.InvariantCulture)}]"),
        Gen.Bool.Select(b => b ? "[true, {}]" : "{\"nested\": [1, 2]}"),
        Gen.Double.Select(d => double.IsFinite(d) ? $"{{\"n\": {d.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}}}" : "[]"));

    /// <summary>A JSON object whose every field has a value of the wrong type.</summary>
    private static readonly Gen<string> Mistyped = WrongValue.Array[Fields.Length].Select(values =>
        "{" + string.Join(",", Fields.Select((f, i) => $"\"{f}\":{values[i]}")) + "}");

    private static readonly Gen<byte[]> Bodies = Gen.OneOf(
        // Random text, and random bytes.
        Gen.String.Select(s => Encoding.UTF8.GetBytes(s)),
        Gen.Byte.Array[1, 200],
        Mistyped.Select(Encoding.UTF8.GetBytes),
        // Lone surrogates, escaped and (in UTF-16 turned into UTF-8 the lossy way) raw, in every string field.
        Gen.Int[0xD800, 0xDFFF].Select(c => Encoding.UTF8.GetBytes(
            "{" + string.Join(",", Fields.Select(f => $"\"{f}\":\"a\\u{c:x4}b\"")) + "}")),
        // Nesting 10,000 deep, as arrays and as objects.
        Gen.Bool.Select(arrays => Encoding.UTF8.GetBytes(arrays
            ? new string('[', 10_000) + new string(']', 10_000)
            : string.Concat(Enumerable.Repeat("{\"userId\":", 10_000)) + "1" + new string('}', 10_000))),
        // Raw NUL bytes inside and outside strings.
        Gen.Int[0, 3].Select(at => Encoding.UTF8.GetBytes(at switch
        {
            0 => "{\"userId\":\"a\0b\",\"userProfile\":\"p\",\"jobMarketData\":\"m\"}",
            1 => "\0{\"userId\":\"a\"}",
            2 => "{\"reason\":\"x\0\",\"mode\":\"auto\0\"}",
            _ => "{\"text\":\"\0\0\0\"}\0",
        })),
        // Invalid UTF-8 inside a string that is otherwise a valid request.
        Gen.Byte[0x80, 0xFF].Select(b => (byte[])[.. "{\"userId\":\"u"u8, 0xC3, b, 0xFF, .. "\",\"userProfile\":\"p\",\"jobMarketData\":\"m\",\"reason\":\"r"u8, 0xC0, 0xAF, .. "\"}"u8]),
        // Duplicate keys whose last value alone would be valid.
        Gen.Int[0, 3].Select(which => Encoding.UTF8.GetBytes(which switch
        {
            0 => "{\"userId\":\"a\",\"userId\":\"b\",\"userProfile\":\"p\",\"jobMarketData\":\"m\"}",
            1 => "{\"limitUsd\":5000,\"limitUsd\":5000}",
            2 => "{\"mode\":\"auto\",\"mode\":\"auto\"}",
            _ => "{\"rating\":\"up\",\"rating\":\"up\"}",
        })),
        // Huge strings: past the client body limit, and a megabyte for the admin endpoints.
        Gen.Int[65_537, 1_048_576].Select(n => Encoding.UTF8.GetBytes($"{{\"userId\":5,\"text\":\"{new string('x', n)}\",\"reason\":[]}}")));

    /// <summary>
    /// Well-formed JSON whose text is hostile (an escaped NUL, a control character): only for the endpoints that read that
    /// text into a prompt, since an endpoint that ignores those fields may rightly answer "nothing to change".
    /// </summary>
    private static readonly Gen<byte[]> HostileText = Gen.OneOf(Gen.Char['\u0000', '\u001f'].Where(c => c is not ('\t' or '\n' or '\r')), Gen.Const('\u007f'))
        .Select(c => Encoding.UTF8.GetBytes($"{{\"userId\":\"u\\u{(int)c:x4}\",\"userProfile\":\"p\\u{(int)c:x4}q\",\"jobMarketData\":\"m\\u0000\"}}"));

    [Fact]
    public async Task Five_thousand_hostile_bodies_get_only_4xx_and_change_nothing()
    {
        // A real request id for the feedback endpoint; once its cost has reached the ledger, the state every request must leave as it was.
        var admin = fixture.Client(ApiReplica.AdminKey);
        var spent = (await admin.GetFromJsonAsync<Navigator.Api.Apis.BudgetView>($"/admin/budget/{TestClock.Month}"))!.SpentUsd;
        var served = await fixture.Client().PostAsJsonAsync("/v1/career-paths", new { userId = "fuzz-user", userProfile = "Data Analyst", jobMarketData = "Data Scientist: $110k-170k" });
        var requestId = (await served.Content.ReadFromJsonAsync<CareerPathResponse>())!.RequestId;
        await BudgetReports.WaitForSpentAsync(admin, TestClock.Month, spent + (await BudgetReports.CostOfAsync(served)));
        var before = await StateAsync();

        (string Method, string Path, string Key)[] targets =
        [
            ("POST", "/v1/career-paths", ApiReplica.ClientKey),
            ("POST", $"/v1/career-paths/{requestId}/feedback", ApiReplica.ClientKey),
            ("PUT", $"/admin/budget/{TestClock.Month}/limit", ApiReplica.AdminKey),
            ("POST", "/admin/providers/openai/circuit", ApiReplica.AdminKey),
            ("POST", $"/admin/features/{Feature}/versions?activate=true&reason=fuzz", ApiReplica.AdminKey),
            ("POST", $"/admin/features/{Feature}/prompts/user/v9.1", ApiReplica.AdminKey),
            ("POST", $"/admin/features/{Feature}/rollback", ApiReplica.AdminKey),
            ("POST", $"/admin/features/{Feature}/activate", ApiReplica.AdminKey),
            ("POST", $"/admin/features/{Feature}/cache/purge", ApiReplica.AdminKey),
            ("POST", $"/admin/features/{Feature}/evaluate", ApiReplica.AdminKey),
            ("POST", "/admin/experiments", ApiReplica.AdminKey),
            ("PATCH", "/admin/experiments/provider_comparison", ApiReplica.AdminKey),
        ];
        var clients = new Dictionary<string, HttpClient>
        {
            [ApiReplica.ClientKey] = fixture.Client(),
            [ApiReplica.AdminKey] = fixture.Client(ApiReplica.AdminKey),
        };
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();

        // Targets 0 and 9 read userProfile and jobMarketData into a prompt: they also get the hostile text.
        var cases = Gen.Frequency(
            (9, Gen.Select(Gen.Int[0, targets.Length - 1], Bodies)),
            (1, Gen.Select(Gen.OneOf(0, 9), HostileText)));
        await cases.SampleAsync(async (target, body) =>
        {
            var (method, path, key) = targets[target];
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.CacheControl = new CacheControlHeaderValue { NoStore = true };
            using var response = await clients[key].SendAsync(request);
            var status = (int)response.StatusCode;
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            if (status is < 400 or >= 500)
            {
                throw new Xunit.Sdk.XunitException($"{method} {path} answered {status} to a hostile body: {await response.Content.ReadAsStringAsync()}");
            }
        }, iter: 5_000, threads: 1, print: x => $"{targets[x.Item1].Method} {targets[x.Item1].Path} <- {Encoding.UTF8.GetString(x.Item2.AsSpan(0, Math.Min(x.Item2.Length, 300)))}");

        output.WriteLine(string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
        Assert.Equal(5_000, statuses.Values.Sum());
        Assert.Equal(before, await StateAsync());
    }

    /// <summary>What a request could change: the feature (versions, labels, audit), the month's limit and spend, the circuits and the experiments.</summary>
    private async Task<string> StateAsync()
    {
        var admin = fixture.Client(ApiReplica.AdminKey);
        var parts = await Task.WhenAll(
            admin.GetStringAsync($"/admin/features/{Feature}"),
            admin.GetStringAsync("/admin/experiments"),
            admin.GetStringAsync("/admin/experiments/provider_comparison"));
        var budget = (await admin.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"/admin/budget/{TestClock.Month}"))!;
        var providers = (await admin.GetFromJsonAsync<System.Text.Json.Nodes.JsonArray>("/admin/providers"))!;
        return string.Join("\n", parts) + $"\nlimit={budget["limitUsd"]} spent={budget["spentUsd"]}\n"
            + string.Join(",", providers.Select(p => $"{p!["provider"]}:{p["mode"]}"));
    }
}
