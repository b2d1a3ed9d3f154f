using Microsoft.Extensions.Options;

namespace Navigator.Api.Options;

/// <summary>What an admin key may do: <c>read</c> the GET endpoints, or also <c>write</c> (every change).</summary>
public enum AdminScope
{
    Read,
    Write,
}

/// <summary>A named admin key and its scope.</summary>
public sealed class AdminKeyOptions
{
    public string? Key { get; set; }

    public AdminScope Scope { get; set; } = AdminScope.Write;
}

/// <summary>One configured key: its name (what audits, metrics and rate limits use; never the key), and where it was set.</summary>
public sealed record ApiKey(string Name, string Key, bool IsAdmin, AdminScope Scope, string Setting);

/// <summary>
/// The API keys. Client keys call /v1; admin keys call /admin with a scope. Several of each may be valid
/// at once, so a key rotates without downtime: add the new one, move the callers, remove the old one.
/// </summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";
    public const string DevelopmentClientKey = "dev-client-key";
    public const string DevelopmentAdminKey = "dev-admin-key";

    /// <summary>Outside Development every key is at least this long.</summary>
    public const int MinimumKeyLength = 32;

    /// <summary>The client key named "client": <c>NAVIGATOR_CLIENT_KEY</c> or <c>Auth:ClientKey</c>.</summary>
    public string? ClientKey { get; set; }

    /// <summary>More client keys by name: <c>Auth:ClientKeys:&lt;name&gt;=&lt;key&gt;</c>.</summary>
    public Dictionary<string, string> ClientKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The write-scoped admin key named "admin": <c>NAVIGATOR_ADMIN_KEY</c> or <c>Auth:AdminKey</c>.</summary>
    public string? AdminKey { get; set; }

    /// <summary>More admin keys by name: <c>Auth:AdminKeys:&lt;name&gt;:Key</c> and <c>:Scope</c> (read or write, default write).</summary>
    public Dictionary<string, AdminKeyOptions> AdminKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Every configured key, client keys first; empty keys included, so validation can name them.</summary>
    public IEnumerable<ApiKey> All()
    {
        if (ClientKey is not null)
        {
            yield return new ApiKey("client", ClientKey, IsAdmin: false, AdminScope.Read, "NAVIGATOR_CLIENT_KEY (Auth:ClientKey)");
        }

        foreach (var (name, key) in ClientKeys)
        {
            yield return new ApiKey(name, key ?? "", IsAdmin: false, AdminScope.Read, $"Auth:ClientKeys:{name}");
        }

        if (AdminKey is not null)
        {
            yield return new ApiKey("admin", AdminKey, IsAdmin: true, AdminScope.Write, "NAVIGATOR_ADMIN_KEY (Auth:AdminKey)");
        }

        foreach (var (name, admin) in AdminKeys)
        {
            yield return new ApiKey(name, admin.Key ?? "", IsAdmin: true, admin.Scope, $"Auth:AdminKeys:{name}:Key");
        }
    }
}

/// <summary>
/// Refuses a configuration that would let a guessable or shared key through. Everywhere: a client key and
/// an admin key exist, no key is empty, and no key is used twice (a client key equal to an admin key would
/// give every client the admin API). Outside Development also: no key is a development default, and every
/// key has at least <see cref="AuthOptions.MinimumKeyLength"/> characters. Each message names the setting.
/// </summary>
public sealed class AuthOptionsValidator(IHostEnvironment environment) : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var keys = options.All().ToList();
        var failures = new List<string>();
        if (!keys.Any(k => !k.IsAdmin))
        {
            failures.Add("No client key is set: set NAVIGATOR_CLIENT_KEY (or Auth:ClientKeys:<name>).");
        }

        if (!keys.Any(k => k.IsAdmin))
        {
            failures.Add("No admin key is set: set NAVIGATOR_ADMIN_KEY (or Auth:AdminKeys:<name>:Key).");
        }

        var production = !environment.IsDevelopment();
        foreach (var key in keys)
        {
            if (key.Key.Length == 0)
            {
                failures.Add($"{key.Setting} is empty.");
            }
            else if (production && key.Key is AuthOptions.DevelopmentClientKey or AuthOptions.DevelopmentAdminKey)
            {
                failures.Add($"{key.Setting} is the development default; set a secret key of at least {AuthOptions.MinimumKeyLength} characters.");
            }
            else if (production && key.Key.Length < AuthOptions.MinimumKeyLength)
            {
                failures.Add($"{key.Setting} is shorter than {AuthOptions.MinimumKeyLength} characters.");
            }
        }

        foreach (var shared in keys.Where(k => k.Key.Length > 0).GroupBy(k => k.Key, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            var settings = string.Join(" and ", shared.Select(k => k.Setting));
            failures.Add(shared.Any(k => k.IsAdmin) && shared.Any(k => !k.IsAdmin)
                ? $"A client key equals an admin key: {settings}. Every client could call the admin API."
                : $"The same key is set twice: {settings}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
