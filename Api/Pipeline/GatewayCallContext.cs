using Microsoft.Extensions.AI;
using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Pipeline;

/// <summary>
/// The request's inputs that every chat-client layer needs (its id, month, deadline, prompt size,
/// provider order and feature settings). It travels in <see cref="ChatOptions.AdditionalProperties"/>,
/// the extension point Microsoft.Extensions.AI provides.
/// </summary>
public sealed class GatewayCallContext
{
    private const string Key = "navigator.context";
    private const string ProviderKey = "navigator.provider";
    private const string AttemptKey = "navigator.attempt";
    private const string ProbeKey = "navigator.probe";
    private const string SupersededKey = "navigator.superseded";

    public required string RequestId { get; init; }
    public required string Month { get; init; }
    public required DateTimeOffset Deadline { get; init; }
    public required TimeSpan DeadlineDuration { get; init; }
    public required int InputTokens { get; init; }
    public required IReadOnlyList<string> ProviderOrder { get; init; }
    public required FeatureSettings Settings { get; init; }

    /// <summary>A judge's call (<see cref="Experiments.AnswerJudge"/>): its answer is a score, not recommendations.</summary>
    public bool IsJudge { get; init; }

    /// <summary>
    /// The failover layer's log of the request's attempts, the one thing a layer writes here. It is
    /// read after the call, whether it succeeded or failed. Everything else a layer learns about an
    /// attempt travels back on the response or the exception (<see cref="GatewayResponse"/>).
    /// </summary>
    public List<AttemptRecord> Attempts { get; } = [];

    public ChatOptions Attach(ChatOptions options)
    {
        (options.AdditionalProperties ??= [])[Key] = this;
        return options;
    }

    public static GatewayCallContext From(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(Key, out var value) == true && value is GatewayCallContext context
            ? context
            : throw new InvalidOperationException("The gateway pipeline was called without its request context.");

    public static ChatOptions ForAttempt(ChatOptions options, string provider, int attempt, bool isProbe, AttemptSignal? superseded = null)
    {
        var clone = options.Clone();
        clone.AdditionalProperties![ProviderKey] = provider;
        clone.AdditionalProperties[AttemptKey] = attempt;
        clone.AdditionalProperties[ProbeKey] = isProbe;
        if (superseded is not null)
        {
            clone.AdditionalProperties[SupersededKey] = superseded;
        }

        return clone;
    }

    /// <summary>True when the attempt was cancelled because another (hedged) attempt answered first.</summary>
    public static bool IsSuperseded(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(SupersededKey, out var signal) == true && signal is AttemptSignal { IsSet: true };

    /// <summary>True when the attempt uses one of the cluster's half-open probe permits.</summary>
    public static bool IsProbe(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(ProbeKey, out var probe) == true && probe is true;

    public static (string Provider, int Attempt) AttemptOf(ChatOptions? options)
    {
        var properties = options?.AdditionalProperties;
        return properties?.TryGetValue(ProviderKey, out var provider) == true && provider is string name
            ? (name, properties.TryGetValue(AttemptKey, out var attempt) && attempt is int number ? number : 0)
            : throw new InvalidOperationException("The call is not a provider attempt of the gateway pipeline.");
    }
}

/// <summary>A mark one layer sets and another reads, across threads (an attempt superseded by a hedge).</summary>
public sealed class AttemptSignal
{
    private volatile bool _isSet;

    public bool IsSet
    {
        get => _isSet;
        set => _isSet = value;
    }
}
