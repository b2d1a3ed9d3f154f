using Navigator.Api.Telemetry;
using Navigator.Grains.Experiments;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Counts each experiment's requests by variant on this replica and sends each experiment's counts to its
/// grain once a second (see <see cref="BatchReporter{TKey, TTally}"/>).
/// </summary>
public sealed class ExperimentReporter(IGrainFactory grains, BudgetLeases leases, ILogger<ExperimentReporter> logger)
    : BatchReporter<string, VariantTally>(leases, logger)
{
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

        Add(experiment, variant, t =>
        {
            t.AddRequest(error, request.Cached, request.LatencyMs, request.InputTokens, request.OutputTokens, (double)request.CostUsd);
            if (quality is { } score)
            {
                t.AddQuality(score);
            }
        });
    }

    /// <summary>Counts an LLM judge's score of an answer in a variant.</summary>
    public void RecordJudge(string experiment, string variant, double score) => Add(experiment, variant, t => t.AddJudge(score));

    protected override Task SendAsync(string grainKey, string replicaId, long sequence, IReadOnlyDictionary<string, VariantTally> items) =>
        grains.GetGrain<IExperimentGrain>(grainKey).RecordAsync(new TallyBatch(replicaId, sequence, items));
}
