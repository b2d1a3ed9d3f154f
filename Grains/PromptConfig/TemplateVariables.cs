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
