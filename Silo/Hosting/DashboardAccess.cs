using System.Security.Cryptography;
using System.Text;

namespace Navigator.Silo.Hosting;

/// <summary>
/// The Orleans dashboard shows grain internals. In Development it is on and open (loopback only). Elsewhere it
/// is off unless <c>Orleans:Dashboard</c> is true, and then every request needs the admin key
/// (<c>NAVIGATOR_ADMIN_KEY</c>), as a Bearer token or as the password of HTTP Basic authentication (so a
/// browser can open it).
/// </summary>
public static class DashboardAccess
{
    public const string Path = "/dashboard";

    public static bool IsEnabled(IConfiguration config, IHostEnvironment environment) =>
        config.GetSection("Orleans").GetValue<bool?>("Dashboard") ?? environment.IsDevelopment();

    /// <summary>The key the dashboard asks for, or null when it is open; refuses to start without a strong one outside Development.</summary>
    public static string? RequiredKey(IConfiguration config, IHostEnvironment environment)
    {
        if (environment.IsDevelopment())
        {
            return null;
        }

        var key = config["NAVIGATOR_ADMIN_KEY"];
        return key is { Length: >= 32 } && key != "dev-admin-key"
            ? key
            : throw new InvalidOperationException(
                "Orleans:Dashboard is enabled outside Development: set NAVIGATOR_ADMIN_KEY (at least 32 characters) to protect it, or turn the dashboard off.");
    }

    public static WebApplication UseDashboardKey(this WebApplication app, string key)
    {
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        app.UseWhen(http => http.Request.Path.StartsWithSegments(Path), branch => branch.Use(async (http, next) =>
        {
            if (Presented(http.Request.Headers.Authorization.ToString()) is { } presented
                && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), expected))
            {
                await next(http);
                return;
            }

            http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"navigator-dashboard\", charset=\"UTF-8\"";
        }));
        return app;
    }

    /// <summary>The key from "Bearer &lt;key&gt;" or from the password of "Basic base64(user:key)".</summary>
    private static string? Presented(string header)
    {
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header["Bearer ".Length..].Trim();
        }

        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
                return pair.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0 ? pair[(colon + 1)..] : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return null;
    }
}
