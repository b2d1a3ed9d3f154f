namespace Navigator.Grains.Providers;

/// <summary>
/// Records the outcome of every provider call, cluster-wide. Kept in memory: health is a
/// live signal, and a fresh activation starting from an empty window is the right behaviour.
/// </summary>
public sealed class ProviderHealthGrain : Grain, IProviderHealthGrain
{
    /// <summary>How many of the most recent calls the failure rate is taken over.</summary>
    public const int WindowSize = 50;

    private readonly Queue<bool> _window = new();
    private long _calls;
    private long _failures;
    private ProviderCallOutcome? _last;

    public Task RecordAsync(ProviderCallOutcome outcome)
    {
        var failed = outcome.Kind is not (ProviderCallKind.Success or ProviderCallKind.ClientError);
        _calls++;
        if (failed)
        {
            _failures++;
        }

        _window.Enqueue(failed);
        if (_window.Count > WindowSize)
        {
            _window.Dequeue();
        }

        _last = outcome;
        return Task.CompletedTask;
    }

    public Task<ProviderHealthStatus> GetStatusAsync()
    {
        var rate = _window.Count == 0 ? 0 : _window.Count(f => f) / (double)_window.Count;
        return Task.FromResult(new ProviderHealthStatus(
            this.GetPrimaryKeyString(), _calls, _failures, rate, _last?.Kind, _last?.At));
    }
}
