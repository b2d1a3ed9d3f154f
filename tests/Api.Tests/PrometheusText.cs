using System.Globalization;
using System.Text.RegularExpressions;

namespace Navigator.Api.Tests;

/// <summary>Reads sample values out of a Prometheus text exposition, so metric tests check numbers, not names.</summary>
public static partial class PrometheusText
{
    /// <summary>
    /// The sum of every sample of <paramref name="metric"/> whose labels include all of <paramref name="labels"/>
    /// (0 when there is none: a counter that was never incremented is not exported).
    /// </summary>
    public static double Sum(string exposition, string metric, params (string Name, string Value)[] labels) =>
        Sample().Matches(exposition)
            .Where(m => m.Groups["name"].Value == metric)
            .Where(m => labels.All(l => m.Groups["labels"].Value.Contains($"{l.Name}=\"{l.Value}\"", StringComparison.Ordinal)))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
