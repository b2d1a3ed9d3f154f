using System.Collections.Concurrent;

namespace Navigator.FakeUpstream;

/// <summary>What a fake provider does with the next requests. All fields are optional.</summary>
public sealed record Faults
{
    /// <summary>Answer every request with this HTTP status (e.g. 500, 502, 503, 429, 401) instead of a completion.</summary>
    public int? Status { get; init; }

    /// <summary>Retry-After seconds sent with a 429 or 503.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Added latency before answering.</summary>
    public int LatencyMs { get; init; }

    /// <summary>Share of requests, in [0, 1], delayed by <see cref="TailLatencyMs"/> more: a slow tail.</summary>
    public double TailRate { get; init; }

    /// <summary>The slow tail's added latency.</summary>
    public int TailLatencyMs { get; init; }

    /// <summary>Never answer (until the client gives up).</summary>
    public bool Hang { get; init; }

    /// <summary>Answer 200 with a body that is not JSON.</summary>
    public bool Malformed { get; init; }

    /// <summary>Answer 200 with the first half of a valid body.</summary>
    public bool Truncated { get; init; }

    /// <summary>Share of requests, in [0, 1], that get <see cref="Status"/> (or 500); the rest succeed.</summary>
    public double? FailureRate { get; init; }

    /// <summary>Reported input tokens are the o200k count times this: a provider whose tokenizer counts more, or that bills more.</summary>
    public double UsageFactor { get; init; } = 1;

    /// <summary>Report this many output tokens (e.g. the request's max_tokens) instead of the answer's o200k count.</summary>
    public int? OutputTokens { get; init; }
}

/// <summary>Per-provider faults and request counters, changed at run time through /_control.</summary>
public sealed class FaultBoard
{
    private readonly ConcurrentDictionary<string, Faults> _faults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _requests = new(StringComparer.Ordinal);

    public Faults For(string provider) => _faults.GetValueOrDefault(provider) ?? new Faults();

    public void Set(string provider, Faults faults) => _faults[provider] = faults;

    public void Reset()
    {
        _faults.Clear();
        _requests.Clear();
    }

    public long Count(string provider) => _requests.AddOrUpdate(provider, 1, (_, n) => n + 1);

    public long Requests(string provider) => _requests.GetValueOrDefault(provider);
}
