using Fluid;
using Fluid.Ast;

namespace Navigator.Grains.PromptConfig;

/// <summary>
/// Finds the variables a Liquid template reads, by walking Fluid's syntax tree, so every branch
/// counts, not only the ones a sample render would take.
/// </summary>
public static class TemplateVariables
{
    private static readonly FluidParser Parser = new();

    private static readonly TemplateOptions Limited = new() { MaxSteps = PromptLimits.MaxSteps, MaxRecursion = PromptLimits.MaxRecursion };

    /// <summary>
    /// Renders the template with every variable it reads set to the largest input a request may send;
    /// returns the limit it broke, or null.
    /// </summary>
    public static string? TrialRender(string template, IReadOnlySet<string> variables)
    {
        if (!Parser.TryParse(template, out var parsed, out _))
        {
            return "it does not parse";
        }

        // Fluid builds a range's whole array before the first step counts: (1..100000000) would take
        // gigabytes before MaxSteps could stop it, so literal ranges are checked before rendering.
        var ranges = new RangeChecker();
        if (parsed is Fluid.Parser.FluidTemplate tree)
        {
            foreach (var statement in tree.Statements)
            {
                ranges.Visit(statement);
            }
        }

        if (ranges.Longest > PromptLimits.MaxSteps)
        {
            return $"it has a range of {ranges.Longest:N0} items; the limit is {PromptLimits.MaxSteps:N0}";
        }

        var context = new TemplateContext(Limited);
        var sample = new string('x', PromptLimits.MaxInputLength);
        foreach (var name in variables)
        {
            context.SetValue(name, sample);
        }

        try
        {
            var output = parsed.Render(context, NullEncoder.Default);
            return output.Length > PromptLimits.MaxOutputLength
                ? $"with the largest inputs it renders {output.Length:N0} characters; the limit is {PromptLimits.MaxOutputLength:N0}"
                : null;
        }
        catch (InvalidOperationException ex)
        {
            // Fluid stops a render past MaxSteps or MaxRecursion with this exception.
            return $"with the largest inputs it breaks the render limits ({PromptLimits.MaxSteps:N0} steps, {PromptLimits.MaxRecursion} nested blocks): {ex.Message}";
        }
    }

    /// <summary>Parses the template; returns false with the parser's message when it is not valid Liquid.</summary>
    public static bool TryGetVariables(string template, out IReadOnlySet<string> variables, out string? error)
    {
        if (!Parser.TryParse(template, out var parsed, out error))
        {
            variables = new HashSet<string>();
            return false;
        }

        var collector = new Collector();
        if (parsed is Fluid.Parser.FluidTemplate fluid)
        {
            foreach (var statement in fluid.Statements)
            {
                collector.Visit(statement);
            }
        }

        variables = collector.Names;
        return true;
    }

    private sealed class RangeChecker : AstVisitor
    {
        public decimal Longest { get; private set; }

        protected override Expression VisitRangeExpression(RangeExpression rangeExpression)
        {
            if (rangeExpression.From is LiteralExpression { Value: var from } && rangeExpression.To is LiteralExpression { Value: var to })
            {
                Longest = Math.Max(Longest, Math.Abs(to.ToNumberValue() - from.ToNumberValue()) + 1);
            }

            return base.VisitRangeExpression(rangeExpression);
        }
    }

    private sealed class Collector : AstVisitor
    {
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        protected override Expression VisitMemberExpression(MemberExpression memberExpression)
        {
            if (memberExpression.Segments.Count > 0 && memberExpression.Segments[0] is IdentifierSegment first)
            {
                Names.Add(first.Identifier);
            }

            return base.VisitMemberExpression(memberExpression);
        }
    }
}
