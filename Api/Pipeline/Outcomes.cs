using System.Collections.Frozen;
using System.Reflection;
using System.Text.Json.Serialization;
using Navigator.Grains.Providers;

namespace Navigator.Api.Pipeline;

/// <summary>What one provider attempt came to; its label is the one in meta.attempts, telemetry and metrics.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AttemptOutcome>))]
public enum AttemptOutcome
{
    [JsonStringEnumMemberName("success")] Success,
    [JsonStringEnumMemberName("server_error")] ServerError,
    [JsonStringEnumMemberName("timeout")] Timeout,
    [JsonStringEnumMemberName("rate_limited")] RateLimited,
    [JsonStringEnumMemberName("auth_failure")] AuthFailure,
    [JsonStringEnumMemberName("client_error")] ClientError,
    [JsonStringEnumMemberName("malformed_response")] MalformedResponse,
    /// <summary>The call threw something no provider failure looks like; it failed over, and the circuit did not count it.</summary>
    [JsonStringEnumMemberName("unknown_error")] UnknownError,
    /// <summary>Skipped: the circuit was open, or a half-open circuit had no probe permit left.</summary>
    [JsonStringEnumMemberName("circuit_open")] CircuitOpen,
    [JsonStringEnumMemberName("budget_exhausted")] BudgetExhausted,
    /// <summary>A hedge's loser: cancelled because another attempt answered first; charged its reservation, not counted by the circuit.</summary>
    [JsonStringEnumMemberName("superseded")] Superseded,
}

/// <summary>How a request ended; its label is the one in telemetry and metrics.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RequestOutcome>))]
public enum RequestOutcome
{
    [JsonStringEnumMemberName("unknown")] Unknown,
    [JsonStringEnumMemberName("success")] Success,
    /// <summary>The client hung up before the answer (status 499, as nginx records it).</summary>
    [JsonStringEnumMemberName("client_closed")] ClientClosed,
    [JsonStringEnumMemberName("invalid")] Invalid,
    [JsonStringEnumMemberName("too_large")] TooLarge,
    [JsonStringEnumMemberName("budget_exhausted")] BudgetExhausted,
    [JsonStringEnumMemberName("daily_budget_exhausted")] DailyBudgetExhausted,
    [JsonStringEnumMemberName("user_quota")] UserQuota,
    [JsonStringEnumMemberName("no_provider")] NoProvider,
    [JsonStringEnumMemberName("deadline")] Deadline,
    [JsonStringEnumMemberName("cluster_unavailable")] ClusterUnavailable,
    [JsonStringEnumMemberName("error")] Error,
}

/// <summary>The wire label of an enum value: its <see cref="JsonStringEnumMemberNameAttribute"/>, or its name.</summary>
public static class Labels
{
    public static string Label<T>(this T value)
        where T : struct, Enum => Cache<T>.Names[value];

    /// <summary>The value whose label is <paramref name="label"/>, or null.</summary>
    public static T? Parse<T>(string? label)
        where T : struct, Enum => label is not null && Cache<T>.Values.TryGetValue(label, out var value) ? value : null;

    public static AttemptOutcome ToAttemptOutcome(this ProviderCallKind kind) => kind switch
    {
        ProviderCallKind.Success => AttemptOutcome.Success,
        ProviderCallKind.ServerError => AttemptOutcome.ServerError,
        ProviderCallKind.Timeout => AttemptOutcome.Timeout,
        ProviderCallKind.RateLimited => AttemptOutcome.RateLimited,
        ProviderCallKind.AuthFailure => AttemptOutcome.AuthFailure,
        ProviderCallKind.ClientError => AttemptOutcome.ClientError,
        ProviderCallKind.MalformedResponse => AttemptOutcome.MalformedResponse,
        ProviderCallKind.Unknown => AttemptOutcome.UnknownError,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private static class Cache<T>
        where T : struct, Enum
    {
        public static readonly FrozenDictionary<T, string> Names = Enum.GetValues<T>().ToFrozenDictionary(v => v, v =>
            typeof(T).GetField(v.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? v.ToString());

        public static readonly FrozenDictionary<string, T> Values = Names.ToFrozenDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);
    }
}
