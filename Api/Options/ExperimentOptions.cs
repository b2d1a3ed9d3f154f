using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Navigator.Api.Options;

/// <summary>Experiments (section "experiments").</summary>
public sealed class ExperimentOptions
{
    public const string Section = "experiments";

    /// <summary>How long after a request its answer may be rated; later feedback gets 409.</summary>
    [Range(1, 90)]
    public int FeedbackWindowDays { get; set; } = 7;

    /// <summary>The share of answers in experiments that the LLM judge scores (0 turns it off).</summary>
    [Range(0.0, 1.0)]
    public double JudgeSampleRate { get; set; } = 0.05;

    /// <summary>The longest feedback comment accepted.</summary>
    public const int MaxCommentLength = 1000;
}

[OptionsValidator]
public sealed partial class ExperimentOptionsValidator : IValidateOptions<ExperimentOptions>;
