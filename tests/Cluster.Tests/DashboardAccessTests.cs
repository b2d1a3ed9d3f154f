using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>The silo dashboard shows grain internals: off outside Development unless enabled, and then behind the admin key.</summary>
public sealed class DashboardAccessTests
{
    private static readonly string AdminKey = new('k', 40);

    [Fact]
    public async Task Outside_development_the_dashboard_is_off_by_default()
    {
        await using var silo = await SiloProcess.StartAsync(TestStorage.NewServiceId("dash-off"), TestStorage.NewServiceId("dash-off"), new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Orleans__Dashboard"] = "",
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{silo.HttpPort}") };

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/dashboard")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task Enabled_outside_development_the_dashboard_needs_the_admin_key()
    {
        await using var silo = await SiloProcess.StartAsync(TestStorage.NewServiceId("dash-on"), TestStorage.NewServiceId("dash-on"), new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Orleans__Dashboard"] = "true",
            ["NAVIGATOR_ADMIN_KEY"] = AdminKey,
        });
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{silo.HttpPort}") };

        var anonymous = await http.GetAsync("/dashboard");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Basic", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(http, new AuthenticationHeaderValue("Bearer", "not-the-key"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, new AuthenticationHeaderValue("Bearer", AdminKey))).StatusCode);
        // A browser signs in with Basic authentication: any user name, the admin key as the password.
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"ops:{AdminKey}"));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, new AuthenticationHeaderValue("Basic", basic))).StatusCode);
    }

    /// <summary>GET /dashboard, following redirects with the header (HttpClient drops Authorization on a redirect).</summary>
    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, AuthenticationHeaderValue authorization)
    {
        var uri = new Uri(http.BaseAddress!, "/dashboard");
        for (var hop = 0; ; hop++)
        {
            var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, uri) { Headers = { Authorization = authorization } });
            if ((int)response.StatusCode is < 300 or >= 400 || hop == 5)
            {
                return response;
            }

            uri = new Uri(uri, response.Headers.Location!);
        }
    }
}
