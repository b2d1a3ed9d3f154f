using System.Collections.Concurrent;
using Navigator.Api.Telemetry;
using Navigator.Grains.Experiments;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Counts each experiment's requests by variant on this replica, in memory, and sends each experiment's
/// counts to its grain every <see cref="ReportPeriod"/>: one grain call per experiment per period, never one
/// per request. A batch keeps its sequence number until the grain has stored it; a failed send is retried
/// as the same batch (the grain ignores a sequence it has stored), and newer counts wait in the next one.
/// </summary>
/// <remarks>The replica's name is its budget lease name, unique per process.</remarks>
public sealed partial class ExperimentReporter(IGrainFactory grains, BudgetLeases leases, ILogger<ExperimentReporter> logger) : BackgroundService
{
    public static readonly TimeSpan ReportPeriod = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Pending> _experiments = new(StringComparer.Ordinal);

    /// <summary>
    /// Counts a request that was in an experiment, with its answer's quality score if it has one. Errors are the
    /// gateway's failures to answer (no provider, deadline, internal error).
    /// </summary>
    public void Record(RequestTelemetry request, double? quality = null)
    {
        if (request is not { ExperimentId: { } experiment, VariantId: { } variant })
        {
            return;
        }

        var error = request.Outcome is RequestOutcome.NoProvider or RequestOutcome.Deadline or RequestOutcome.Error;
        if (!error && request.Outcome != RequestOutcome.Success)
        {
            return; // refused by quota or budget, or the client went away: not the variant's doing
        }

        _experiments.GetOrAdd(experiment, _ => new Pending()).Add(variant, t =>
        {
            t.AddRequest(error, request.Cached, request.LatencyMs, request.InputTokens, request.OutputTokens, (double)request.CostUsd);
            if (quality is { } score)
            {
                t.AddQuality(score);
            }
        });
    }

    /// <summary>Counts an LLM judge's score of an answer in a variant.</summary>
    public void RecordJudge(string experiment, string variant, double score) =>
        _experiments.GetOrAdd(experiment, _ => new Pending()).Add(variant, t => t.AddJudge(score));

    /// <summary>Sends every experiment's pending counts now.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var (experiment, pending) in _experiments)
        {
            if (pending.Next(leases.ReplicaId) is { } batch)
            {
                try
                {
                    await grains.GetGrain<IExperimentGrain>(experiment).RecordAsync(batch).WaitAsync(cancellationToken);
                    pending.Stored();
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    LogReportFailed(ex, experiment);
                }
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ReportPeriod);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await FlushAsync(stoppingToken);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken); // the last second's counts
    }

    /// <summary>One experiment's counts: the batch in flight (kept until stored) and the counts since.</summary>
    private sealed class Pending
    {
        private readonly Lock _gate = new();
        private Dictionary<string, VariantTally> _since = new(StringComparer.Ordinal);
        private TallyBatch? _inFlight;
        private long _sequence;

        public void Add(string variant, Action<VariantTally> count)
        {
            lock (_gate)
            {
                if (!_since.TryGetValue(variant, out var tally))
                {
                    _since[variant] = tally = new VariantTally();
                }

                count(tally);
            }
        }

        /// <summary>The batch to send: the one not yet stored, or the counts since the last one.</summary>
        public TallyBatch? Next(string replicaId)
        {
            lock (_gate)
            {
                if (_inFlight is null && _since.Count > 0)
                {
                    _inFlight = new TallyBatch(replicaId, ++_sequence, _since);
                    _since = new Dictionary<string, VariantTally>(StringComparer.Ordinal);
                }

                return _inFlight;
            }
        }

        public void Stored()
        {
            lock (_gate)
            {
                _inFlight = null;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Experiment {Experiment}: sending this replica's counts failed; the batch is retried")]
    private partial void LogReportFailed(Exception exception, string experiment);
}
