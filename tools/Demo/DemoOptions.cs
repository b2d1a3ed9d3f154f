namespace Navigator.Demo;

/// <summary>What <c>demo.sh</c> tells the demo: where the gateway's replicas and the fake upstream listen, and how to report.</summary>
public sealed record DemoOptions(
    IReadOnlyList<Uri> Replicas,
    Uri Upstream,
    string ClientKey,
    string AdminKey,
    string FeatureFile,
    IReadOnlyList<string> TelemetryDirectories,
    bool Plain,
    string? SummaryFile)
{
    public const string Usage = """
        Usage: Navigator.Demo --api URL --api URL --upstream URL --feature-file PATH [--telemetry DIR]...
                              [--client-key KEY] [--admin-key KEY] [--plain] [--summary FILE]
          --api           an API replica (give two: the rollback scene times both)
          --upstream      the fake OpenAI/Anthropic upstream, whose /_control sets faults
          --feature-file  the active feature config (config/features/<feature>.json); the rollback scene publishes a bad copy
          --telemetry     a replica's telemetry directory, to count its JSONL lines at the end
          --plain         no live view or colour: one line per step, for logs and tests
          --summary       write each scene's outcome as JSON to FILE
        """;

    public static DemoOptions Parse(IReadOnlyList<string> args)
    {
        var replicas = new List<Uri>();
        var telemetry = new List<string>();
        Uri? upstream = null;
        string? featureFile = null, summary = null;
        string clientKey = "dev-client-key", adminKey = "dev-admin-key";
        var plain = false;
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--api": replicas.Add(new Uri(Value())); break;
                case "--upstream": upstream = new Uri(Value()); break;
                case "--feature-file": featureFile = Value(); break;
                case "--telemetry": telemetry.Add(Value()); break;
                case "--client-key": clientKey = Value(); break;
                case "--admin-key": adminKey = Value(); break;
                case "--summary": summary = Value(); break;
                case "--plain": plain = true; break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}'.");
            }
        }

        if (replicas.Count != 2)
        {
            throw new ArgumentException("Give two API replicas (--api URL --api URL).");
        }

        if (upstream is null || featureFile is null)
        {
            throw new ArgumentException("--upstream and --feature-file are required.");
        }

        return new DemoOptions(replicas, upstream, clientKey, adminKey, featureFile, telemetry, plain, summary);
    }
}
