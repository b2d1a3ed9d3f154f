namespace Navigator.Grains;

/// <summary>
/// The clock the grains read for business time: months, days, lease expiry, circuit open periods and audit
/// entries. It is the host's <see cref="TimeProvider"/> unless a keyed one is registered under <see cref="Key"/>.
/// </summary>
/// <remarks>
/// Orleans' own membership reads the host's <see cref="TimeProvider"/>, so the test suite, which runs the
/// grains and the API replicas at a chosen date, replaces only this keyed clock and leaves Orleans on real time.
/// </remarks>
public static class LedgerClock
{
    public const string Key = "navigator";
}
