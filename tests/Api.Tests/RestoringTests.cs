namespace Navigator.Api.Tests;

/// <summary>
/// A test class whose tests register what they must put back (<see cref="Restore"/>); it runs after each
/// test in <see cref="DisposeAsync"/>, so a failed restore is reported beside the test's own failure,
/// never instead of it, as a <c>finally</c> block would.
/// </summary>
public abstract class RestoringTests : IAsyncLifetime
{
    private readonly List<Func<Task>> _restore = [];

    protected void Restore(Func<Task> step) => _restore.Add(step);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var restore in _restore)
        {
            await restore();
        }
    }
}
