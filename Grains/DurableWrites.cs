namespace Navigator.Grains;

/// <summary>
/// The one rule for a grain whose write fails: its live state is ahead of storage, so the activation goes. The caller
/// gets the storage error; the next call activates the grain afresh from what storage holds. Nothing that was never
/// saved is served, acknowledged or sent on (a retried batch then counts once, a retried change is written).
/// </summary>
internal static class DurableWrites
{
    public static async Task WriteOrDeactivateAsync<T>(this Grain grain, IPersistentState<T> state)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            grain.DeactivateOnIdle();
            throw;
        }
    }
}
