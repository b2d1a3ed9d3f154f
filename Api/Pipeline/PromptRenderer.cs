using System.Collections.Concurrent;
using Fluid;
using Fluid.Values;
using Navigator.Grains.PromptConfig;

namespace Navigator.Api.Pipeline;

/// <summary>Renders Liquid prompt templates (Fluid). Parsed templates are cached by their text.</summary>
public sealed class PromptRenderer
{
    private static readonly FluidParser Parser = new();

    // The limits publishing checked with a trial render (PromptLimits).
    private static readonly TemplateOptions Limited = new() { MaxSteps = PromptLimits.MaxSteps, MaxRecursion = PromptLimits.MaxRecursion };
    private readonly ConcurrentDictionary<string, IFluidTemplate> _templates = new(StringComparer.Ordinal);

    public string Render(string template, IReadOnlyDictionary<string, object?> variables)
    {
        var parsed = _templates.GetOrAdd(template, Parse);
        var context = new TemplateContext(Limited);
        foreach (var (name, value) in variables)
        {
            context.SetValue(name, value is null ? NilValue.Instance : FluidValue.Create(value, context.Options));
        }

        // Prompts are plain text, not HTML: no encoding.
        var rendered = parsed.Render(context, NullEncoder.Default);
        return rendered.Length <= PromptLimits.MaxOutputLength
            ? rendered
            : throw new InvalidOperationException($"The rendered prompt is longer than {PromptLimits.MaxOutputLength:N0} characters.");
    }

    private static IFluidTemplate Parse(string template) =>
        Parser.TryParse(template, out var parsed, out var error)
            ? parsed
            : throw new FormatException($"The prompt template does not parse: {error}");
}
