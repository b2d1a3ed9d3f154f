using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;

namespace Navigator.Demo;

public static class DemoProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        DemoOptions options;
        try
        {
            options = DemoOptions.Parse(args);
        }
        catch (Exception ex) when (ex is ArgumentException or UriFormatException)
        {
            await Console.Error.WriteLineAsync($"{ex.Message}\n\n{DemoOptions.Usage}");
            return 2;
        }

        var console = options.Plain
            ? AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No })
            : AnsiConsole.Console;
        if (options.Plain)
        {
            console.Profile.Width = 160; // tables stay readable in a log
        }

        var clock = Stopwatch.StartNew();
        using var gateway = new Gateway(options);
        var results = await new Story(console, gateway, options).RunAsync();
        var seconds = Math.Round(clock.Elapsed.TotalSeconds, 1);
        var passed = results.Count(r => r.Ok);
        console.WriteLine();
        console.MarkupLine(passed == results.Count
            ? $"[green bold]All {results.Count} scenes reached their expected outcome[/] in {seconds} s."
            : $"[red bold]{results.Count - passed} of {results.Count} scenes did not reach their expected outcome[/] ({seconds} s).");
        if (options.SummaryFile is { } file)
        {
            await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new { seconds, scenes = results }, JsonOptions));
        }

        return passed == results.Count ? 0 : 1;
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
