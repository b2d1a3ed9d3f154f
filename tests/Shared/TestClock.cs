using System.Globalization;

namespace Navigator.Testing;

/// <summary>
/// The tests' clocks. Each one runs at the real pace from a start instant of its own, so timers,
/// timeouts and lease reports behave exactly as on the system clock while the date is the test's.
/// </summary>
/// <remarks>
/// <c>NAVIGATOR_TEST_CLOCK=2027-02-28T12:00:00Z ./test.sh</c> runs the in-process API replicas and the
/// grains of the in-process silos as if the run started at that instant (see tests/README.md). Orleans'
/// own membership stays on the system clock (<c>LedgerClock</c>): a shifted one makes a silo declare
/// itself dead. The silo and API processes of Cluster.Tests keep the system clock. A test that changes a
/// month's budget uses <see cref="InOwnMonth"/>: a month no other test touches, so it needs no
/// clean-up and no other test's spend.
/// </remarks>
public sealed class TestClock(DateTimeOffset start) : TimeProvider
{
    private const string Variable = "NAVIGATOR_TEST_CLOCK";
    private static int _months;
    private readonly TimeSpan _offset = start - System.GetUtcNow();

    /// <summary>The suite's clock: <c>NAVIGATOR_TEST_CLOCK</c> when set, otherwise the system clock.</summary>
    public static TimeProvider Suite { get; } = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
        ? new TestClock(DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal))
        : System;

    /// <summary>True when the suite runs on a shifted clock.</summary>
    public static bool IsShifted => Suite != System;

    /// <summary>The suite clock's current month key (yyyy-MM), as the API and the grains compute it.</summary>
    public static string Month => MonthOf(Suite);

    public static string MonthOf(TimeProvider clock) => clock.GetUtcNow().ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>A clock at noon on the 15th of a month that no other clock from this method is in (2040 onwards).</summary>
    public static TestClock InOwnMonth()
    {
        var n = Interlocked.Increment(ref _months);
        return new TestClock(new DateTimeOffset(2040, 1, 15, 12, 0, 0, TimeSpan.Zero).AddMonths(n));
    }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + _offset;
}
