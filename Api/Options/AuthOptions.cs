using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Navigator.Api.Options;

/// <summary>The two API keys. Both are compared in constant time.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";
    public const string DevelopmentClientKey = "dev-client-key";
    public const string DevelopmentAdminKey = "dev-admin-key";

    [Required, MinLength(8)]
    public string ClientKey { get; set; } = DevelopmentClientKey;

    /// <summary>The admin key named "admin" in the audit log.</summary>
    [Required, MinLength(8)]
    public string AdminKey { get; set; } = DevelopmentAdminKey;

    /// <summary>More admin keys by name (Auth:AdminKeys:alice=...); the name is what the audit log records.</summary>
    public Dictionary<string, string> AdminKeys { get; set; } = new(StringComparer.Ordinal);

    public IEnumerable<KeyValuePair<string, string>> AllAdminKeys() =>
        AdminKeys.Where(k => k.Value.Length >= 8).Prepend(new KeyValuePair<string, string>("admin", AdminKey));
}

[OptionsValidator]
public sealed partial class AuthOptionsValidator : IValidateOptions<AuthOptions>;
