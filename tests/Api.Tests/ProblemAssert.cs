using System.Net;
using System.Text.Json.Nodes;

namespace Navigator.Api.Tests;

/// <summary>Checks that a response is an RFC 9457 problem with the expected status, and returns its body.</summary>
public static class ProblemAssert
{
    public static async Task<JsonNode> ReadAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal((int)expected, problem["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(problem["title"]?.GetValue<string>()));
        return problem;
    }
}
