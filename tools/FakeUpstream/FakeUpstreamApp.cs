using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Navigator.Api.Pipeline;
using Navigator.Api.Providers;

namespace Navigator.FakeUpstream;

/// <summary>
/// A loopback server that speaks OpenAI's POST /v1/chat/completions and Anthropic's POST
/// /v1/messages, answering with career-path JSON built from the prompt, with faults set per
/// provider at run time: PUT /_control/{provider} with a <see cref="Faults"/> body,
/// GET /_control/{provider} for the faults and the request count, DELETE /_control to reset.
/// </summary>
public sealed class FakeUpstreamApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeUpstreamApp(WebApplication app, FaultBoard faults)
    {
        _app = app;
        Faults = faults;
    }

    public FaultBoard Faults { get; }

    /// <summary>http://127.0.0.1:port (Anthropic's base URL; OpenAI's is this plus /v1).</summary>
    public string BaseUrl => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    /// <summary>Starts on 127.0.0.1; port 0 picks a free one.</summary>
    public static async Task<FakeUpstreamApp> StartAsync(int port = 0, string[]? args = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var faults = new FaultBoard();
        var tokens = new TokenCounter();
        var app = builder.Build();
        Map(app, faults, tokens);
        await app.StartAsync();
        return new FakeUpstreamApp(app, faults);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static void Map(WebApplication app, FaultBoard faults, TokenCounter tokens)
    {
        app.MapPost("/v1/chat/completions", (HttpContext http) => AnswerAsync(http, "openai", faults, tokens));
        app.MapPost("/v1/messages", (HttpContext http) => AnswerAsync(http, "anthropic", faults, tokens));
        app.MapPut("/_control/{provider}", (string provider, Faults body) =>
        {
            faults.Set(provider, body);
            return Results.Ok(body);
        });
        app.MapGet("/_control/{provider}", (string provider) => Results.Ok(new { faults = faults.For(provider), requests = faults.Requests(provider) }));
        app.MapDelete("/_control", () =>
        {
            faults.Reset();
            return Results.NoContent();
        });
    }

    private static async Task AnswerAsync(HttpContext http, string provider, FaultBoard board, TokenCounter tokens)
    {
        board.Count(provider);
        var faults = board.For(provider);
        var request = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
        if (faults.LatencyMs > 0)
        {
            await Task.Delay(faults.LatencyMs, http.RequestAborted);
        }

        if (faults.TailRate > 0 && Random.Shared.NextDouble() < faults.TailRate)
        {
            await Task.Delay(faults.TailLatencyMs, http.RequestAborted);
        }

        if (faults.Hang)
        {
            await Task.Delay(Timeout.Infinite, http.RequestAborted);
        }

        var fails = faults.FailureRate is { } rate ? Random.Shared.NextDouble() < rate : faults.Status is not null;
        if (fails)
        {
            await ErrorAsync(http, provider, faults.Status ?? 500, faults.RetryAfterSeconds);
            return;
        }

        if (faults.Malformed)
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("{\"id\": \"oops\", this is not json", http.RequestAborted);
            return;
        }

        var (system, user, model) = provider == "openai" ? ReadOpenAI(request) : ReadAnthropic(request);
        var text = CareerPathSimulator.Answer(user);
        var input = (int)Math.Ceiling((tokens.Count(system) + tokens.Count(user)) * faults.UsageFactor);
        var output = faults.OutputTokens ?? tokens.Count(text);
        var body = provider == "openai"
            ? JsonSerializer.Serialize(new
            {
                id = $"chatcmpl-{Guid.NewGuid():N}",
                @object = "chat.completion",
                created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
                usage = new { prompt_tokens = input, completion_tokens = output, total_tokens = input + output },
            })
            : JsonSerializer.Serialize(new
            {
                id = $"msg_{Guid.NewGuid():N}",
                type = "message",
                role = "assistant",
                model,
                content = new[] { new { type = "text", text } },
                stop_reason = "end_turn",
                stop_sequence = (string?)null,
                usage = new { input_tokens = input, output_tokens = output },
            });
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(faults.Truncated ? body[..(body.Length / 2)] : body, http.RequestAborted);
    }

    private static (string System, string User, string Model) ReadOpenAI(JsonNode? request)
    {
        var messages = request?["messages"]?.AsArray() ?? [];
        string Text(string role) => string.Join("\n", messages.Where(m => m?["role"]?.GetValue<string>() == role).Select(m => ContentText(m!["content"])));
        return (Text("system"), Text("user"), request?["model"]?.GetValue<string>() ?? "unknown");
    }

    private static (string System, string User, string Model) ReadAnthropic(JsonNode? request)
    {
        var messages = request?["messages"]?.AsArray() ?? [];
        var user = string.Join("\n", messages.Where(m => m?["role"]?.GetValue<string>() == "user").Select(m => ContentText(m!["content"])));
        return (ContentText(request?["system"]), user, request?["model"]?.GetValue<string>() ?? "unknown");
    }

    /// <summary>Content is a string, or a list of blocks with "text".</summary>
    private static string ContentText(JsonNode? content) => content switch
    {
        JsonValue value => value.GetValue<string>(),
        JsonArray blocks => string.Join("\n", blocks.Select(b => b?["text"]?.GetValue<string>()).Where(t => t is not null)),
        _ => "",
    };

    private static async Task ErrorAsync(HttpContext http, string provider, int status, int? retryAfter)
    {
        http.Response.StatusCode = status;
        if (retryAfter is { } seconds)
        {
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        var (type, message) = status switch
        {
            401 => ("authentication_error", "Invalid API key."),
            403 => ("permission_error", "Forbidden."),
            429 => ("rate_limit_error", "Rate limit exceeded."),
            503 => ("overloaded_error", "Overloaded."),
            _ => ("api_error", "Internal server error."),
        };
        await http.Response.WriteAsJsonAsync(provider == "openai"
            ? new { error = new { message, type, code = (string?)null } } as object
            : new { type = "error", error = new { type, message } });
    }
}
