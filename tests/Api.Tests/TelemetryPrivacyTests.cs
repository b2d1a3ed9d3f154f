using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Navigator.Api.Pipeline;
using Navigator.Api.Telemetry;

namespace Navigator.Api.Tests;

/// <summary>A user's id reaches neither the telemetry line nor any trace: the line keeps its keyed hash.</summary>
[Collection(ApiCollection.Name)]
public sealed class TelemetryPrivacyTests(ApiFixture fixture)
{
    [Fact]
    public async Task The_raw_user_id_is_in_no_trace_and_no_telemetry_line()
    {
        var user = $"private-user-{Guid.NewGuid():N}";
        var seen = new ConcurrentBag<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                seen.Add(a.DisplayName);
                foreach (var tag in a.TagObjects)
                {
                    seen.Add($"{tag.Key}={tag.Value}");
                }

                foreach (var item in a.Baggage)
                {
                    seen.Add($"{item.Key}={item.Value}");
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        var response = await fixture.Client().PostAsJsonAsync("/v1/career-paths", new
        {
            userId = user,
            userProfile = "Data Analyst, 3 years, SQL/Tableau",
            jobMarketData = "Data Scientist: $110k-170k",
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = (await response.Content.ReadFromJsonAsync<CareerPathResponse>())!.RequestId;

        var line = (await TelemetryFiles.WaitForAsync(fixture.Replicas[0].DataDirectory, n => n["requestId"]?.GetValue<string>() == requestId))[0];
        Assert.Equal(UserPseudonyms.Of(Encoding.UTF8.GetBytes(TelemetryLogOptions.DevelopmentUserIdKey), user), line["userIdHash"]!.GetValue<string>());
        Assert.DoesNotContain(user, line.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("client", line["client"]!.GetValue<string>()); // the client key's name, never the key
        Assert.DoesNotContain(ApiReplica.ClientKey, line.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains(seen, s => s.StartsWith("http.", StringComparison.Ordinal)); // the request was traced
        Assert.DoesNotContain(seen, s => s.Contains(user, StringComparison.Ordinal));
    }
}
