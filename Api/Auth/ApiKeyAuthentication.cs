using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Navigator.Api.Options;

namespace Navigator.Api.Auth;

/// <summary>
/// Bearer API keys: a client key for /v1 and an admin key for /admin. Keys are compared as
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
        var configured = keys.CurrentValue;
        // Compare against every key every time, so the time taken does not tell which one nearly matched.
        string? adminName = null;
        foreach (var (keyName, key) in configured.AllAdminKeys())
        {
            if (KeyEquals(presented, key))
            {
                adminName ??= keyName;
            }
        }

        var isClient = KeyEquals(presented, configured.ClientKey);
        var (role, name) = adminName is not null ? (AdminRole, adminName) : isClient ? (ClientRole, ClientRole) : (null, null);
        if (role is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name!), new Claim(ClaimTypes.Role, role)], SchemeName);
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
        await WriteProblemAsync("Forbidden", "This API key may not use this endpoint.");
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
            .AddPolicy(AdminPolicy, p => p.RequireRole(ApiKeyAuthenticationHandler.AdminRole));
        return services;
    }
}
