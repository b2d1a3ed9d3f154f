using System.Diagnostics.Metrics;
using Navigator.Api.Pipeline;

namespace Navigator.Api.Telemetry;

/// <summary>
/// The gateway's OpenTelemetry instruments (meter "Navigator.Gateway"), exported on /metrics as
/// navigator_requests_total, navigator_request_duration_seconds, navigator_tokens_total and
/// navigator_cost_usd_total.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "Navigator.Gateway";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _rejections;
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _failovers;
    private readonly Counter<long> _hedges;
    private readonly Histogram<double> _providerLatency;
    private readonly Counter<long> _cache;
    private readonly Counter<long> _underreserved;
    private readonly Counter<long> _clientRateLimited;
    private readonly Counter<long> _feedback;
    private readonly Counter<long> _judge;
    private readonly Counter<double> _judgeCost;

    /// <summary>Outcomes that are refusals by policy or validation, counted in navigator_rejections_total.</summary>
    public static readonly IReadOnlySet<RequestOutcome> RejectionOutcomes = new HashSet<RequestOutcome>
    {
        RequestOutcome.Invalid, RequestOutcome.TooLarge, RequestOutcome.BudgetExhausted, RequestOutcome.DailyBudgetExhausted, RequestOutcome.UserQuota,
    };

    public GatewayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("navigator.requests", description: "Career-path requests by outcome.");
        _duration = meter.CreateHistogram<double>("navigator.request.duration", unit: "s", description: "End-to-end request latency.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 5, 10] });
        _tokens = meter.CreateCounter<long>("navigator.tokens", description: "Tokens sent to and received from providers.");
        _cost = meter.CreateCounter<double>("navigator.cost.usd", description: "Provider cost charged to the budget, in US dollars.");
        _rejections = meter.CreateCounter<long>("navigator.rejections", description: "Requests refused by validation, budget or quota, by reason.");
        _attempts = meter.CreateCounter<long>("navigator.provider.attempts", description: "Provider attempts by provider and outcome (circuit_open: skipped without a call).");
        _failovers = meter.CreateCounter<long>("navigator.failovers", description: "Attempts made on a provider other than the request's first choice (hedges included).");
        _hedges = meter.CreateCounter<long>("navigator.hedges", description: "Hedged attempts: started on the next provider while the first had not answered within the hedging delay.");
        _cache = meter.CreateCounter<long>("navigator.cache.requests", description: "Response-cache lookups by result: hit, miss, stale (served past its TTL because no provider answered) or bypass (Cache-Control or caching off).");
        _underreserved = meter.CreateCounter<long>("navigator.budget.underreserved", description: "Attempts whose actual cost exceeded their reservation (charged in full; the provider's input margin rises).");
        _judge = meter.CreateCounter<long>("navigator.judge", description: "LLM-judge runs on sampled experiment answers, by outcome: scored, unreadable, failed, dropped (queue full).");
        _judgeCost = meter.CreateCounter<double>("navigator.judge.cost.usd", description: "Provider cost of the LLM judge, charged to the budget, apart from requests' cost.");
        _feedback = meter.CreateCounter<long>("navigator.feedback", description: "Ratings of answers counted: first ratings, and changed ones (change=true); repeats are not counted.");
        _clientRateLimited = meter.CreateCounter<long>("navigator.client.rate_limited", description: "Requests refused by a client key's rate limit, by the key's name (never the key).");
        _providerLatency = meter.CreateHistogram<double>("navigator.provider.duration", unit: "s", description: "Provider call latency, by provider and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3] });
    }

    public void RecordHedge(string provider) => _hedges.Add(1, new KeyValuePair<string, object?>("provider", provider));

    public void RecordUnderreserved(string provider) => _underreserved.Add(1, new KeyValuePair<string, object?>("provider", provider));

    public void RecordJudge(string outcome, double costUsd)
    {
        _judge.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        if (costUsd > 0)
        {
            _judgeCost.Add(costUsd);
        }
    }

    public void RecordFeedback(string rating, bool changed) =>
        _feedback.Add(1, new KeyValuePair<string, object?>("rating", rating), new KeyValuePair<string, object?>("change", changed ? "true" : "false"));

    public void RecordClientRateLimited(string client) => _clientRateLimited.Add(1, new KeyValuePair<string, object?>("client", client));

    public void RecordCache(CacheResult result) => _cache.Add(1, new KeyValuePair<string, object?>("result", result.Label()));

    public void RecordAttempt(AttemptRecord attempt, bool isFailover)
    {
        var provider = new KeyValuePair<string, object?>("provider", attempt.Provider);
        var outcome = new KeyValuePair<string, object?>("outcome", attempt.Outcome.Label());
        _attempts.Add(1, provider, outcome);
        if (isFailover)
        {
            _failovers.Add(1, provider);
        }

        if (attempt.Outcome != AttemptOutcome.CircuitOpen)
        {
            _providerLatency.Record(attempt.LatencyMs / 1000.0, provider, outcome);
        }
    }

    public void RecordRequest(RequestTelemetry t)
    {
        var outcome = new KeyValuePair<string, object?>("outcome", t.Outcome.Label());
        var provider = new KeyValuePair<string, object?>("provider", t.Provider ?? "none");
        _requests.Add(1, outcome, provider);
        if (RejectionOutcomes.Contains(t.Outcome))
        {
            _rejections.Add(1, new KeyValuePair<string, object?>("reason", t.Outcome.Label()));
        }

        _duration.Record(t.LatencyMs / 1000.0, outcome);
        if (t.InputTokens > 0)
        {
            _tokens.Add(t.InputTokens, new KeyValuePair<string, object?>("direction", "input"), provider);
        }

        if (t.OutputTokens > 0)
        {
            _tokens.Add(t.OutputTokens, new KeyValuePair<string, object?>("direction", "output"), provider);
        }

        if (t.CostUsd > 0)
        {
            _cost.Add((double)t.CostUsd, provider, new KeyValuePair<string, object?>("model", t.Model ?? "none"));
        }
    }
}
