using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Compliance.Classification;
using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.Options;

namespace Navigator.Api.Telemetry;

/// <summary>The data classes the gateway redacts.</summary>
public static class PersonalData
{
    /// <summary>Free text a user wrote (a feedback comment, an error that quotes input): may hold emails and phone numbers.</summary>
    public static DataClassification Text { get; } = new("Navigator", "PersonalText");

    /// <summary>Registers the redactor of <see cref="Text"/>.</summary>
    public static IServiceCollection AddNavigatorRedaction(this IServiceCollection services) =>
        services.AddRedaction(r => r.SetRedactor<EmailAndPhoneRedactor>(new DataClassificationSet(Text)));

    /// <summary>The redactor for free text.</summary>
    public static Redactor TextRedactor(this IRedactorProvider redactors) => redactors.GetRedactor(new DataClassificationSet(Text));
}

/// <summary>Replaces email addresses with <c>[email]</c> and phone numbers with <c>[phone]</c>, and keeps the rest of the text.</summary>
public sealed partial class EmailAndPhoneRedactor : Redactor
{
    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex Email();

    // International (+44 20 7946 0958) or North American ((555) 123-4567, 555.123.4567) shapes; dates and amounts do not match.
    [GeneratedRegex(@"(?<![\w+])(\+\d{1,3}[\s.-]?\(?\d{1,4}\)?([\s.-]?\d{2,4}){2,4}|\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4})(?!\w)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex Phone();

    public static string RedactText(string text) => Phone().Replace(Email().Replace(text, "[email]"), "[phone]");

    public override int GetRedactedLength(ReadOnlySpan<char> input) => RedactText(input.ToString()).Length;

    public override int Redact(ReadOnlySpan<char> source, Span<char> destination)
    {
        var redacted = RedactText(source.ToString());
        redacted.AsSpan().CopyTo(destination);
        return redacted.Length;
    }
}

/// <summary>
/// Turns a user id into the pseudonym that telemetry keeps: HMAC-SHA256 under <see cref="TelemetryLogOptions.UserIdKey"/>,
/// first 16 bytes in hex. Stable for a key, so one user's lines can be followed; not reversible without the key.
/// </summary>
public sealed class UserPseudonyms(IOptions<TelemetryLogOptions> options)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(options.Value.UserIdKey ?? TelemetryLogOptions.DevelopmentUserIdKey);

    public string? Of(string? userId) => userId is null ? null : Of(_key, userId);

    public static string Of(byte[] key, string userId) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(userId)).AsSpan(0, 16));
}
