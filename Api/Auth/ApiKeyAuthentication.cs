using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;

namespace Navigator.Api.Auth;

/// <summary>
/// Bearer API keys: client keys for /v1 and admin keys, with a read or write scope, for /admin. The
/// identity's name is the key's configured name, never the key. Keys are compared as
/// SHA-256 digests with <see cref="CryptographicOperations.FixedTimeEquals"/>, so neither the
/// content nor the length of a key leaks through timing.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptionsMonitor<AuthOptions> keys,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ClientRole = "client";
    public const string AdminRole = "admin";
    public const string ScopeClaim = "scope";

    public static string ScopeName(AdminScope scope) => scope == AdminScope.Write ? "write" : "read";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("The Authorization header must be 'Bearer <key>'."));
        }

        var presented = header["Bearer ".Length..].Trim();
        // Compare against every key every time, so the time taken does not tell which one nearly matched.
        ApiKey? match = null;
        foreach (var key in keys.CurrentValue.All())
        {
            if (KeyEquals(presented, key.Key))
            {
                match ??= key;
            }
        }

        if (match is null || match.Key.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        Claim[] claims = match.IsAdmin
            ? [new(ClaimTypes.Name, match.Name), new(ClaimTypes.Role, AdminRole), new(ScopeClaim, ScopeName(match.Scope))]
            : [new(ClaimTypes.Name, match.Name), new(ClaimTypes.Role, ClientRole)];
        var identity = new ClaimsIdentity(claims, SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await WriteProblemAsync("Unauthorized", "A valid API key is required in the 'Authorization: Bearer <key>' header.");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await WriteProblemAsync("Forbidden", Context.User.HasClaim(ScopeClaim, ScopeName(AdminScope.Read))
            ? "This admin key has the read scope: it may call the GET endpoints only. Changes need a write-scoped key."
            : "This API key may not use this endpoint.");
    }

    private async Task WriteProblemAsync(string title, string detail) =>
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Title = title, Detail = detail, Status = Response.StatusCode },
        });

    internal static bool KeyEquals(string presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)),
            SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}

public static class AuthExtensions
{
    public const string ClientPolicy = "client";
    public const string AdminPolicy = "admin";

    public static IServiceCollection AddNavigatorAuth(this IServiceCollection services)
    {
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(ClientPolicy, p => p.RequireRole(ApiKeyAuthenticationHandler.ClientRole))
            // Read-scoped admin keys may call the GET endpoints; every change needs the write scope. Deciding by
            // method keeps each new endpoint right without a policy of its own.
            .AddPolicy(AdminPolicy, p => p.RequireRole(ApiKeyAuthenticationHandler.AdminRole).RequireAssertion(c =>
                c.User.HasClaim(ApiKeyAuthenticationHandler.ScopeClaim, ApiKeyAuthenticationHandler.ScopeName(AdminScope.Write))
                || (c.Resource is HttpContext http && (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)))));
        return services;
    }
}
