namespace Navigator.Grains.Budget;

/// <summary>
/// One budget lease as this replica holds it: what was granted (the ceiling), what attempts in flight
/// have reserved, and what settled attempts were charged. Reserving and settling are in-memory
/// arithmetic under a lock, with no I/O; the numbers reach the month's grain in the next report.
/// Amounts in reports are cumulative, so a lost or repeated report never loses or doubles a charge.
/// </summary>
public sealed class LeaseAccount
{
    private readonly Lock _gate = new();
    private decimal _ceiling;
    private decimal _charged;
    private decimal _inFlight;
    private long _sequence;
    private long _reportedVersion = -1;
    private long _version;
    private DateTimeOffset _validUntil = DateTimeOffset.MinValue;

    /// <summary>The grain's id for the lease; null until the first grant.</summary>
    public string? LeaseId { get; private set; }

    /// <summary>The grain closed the lease (expired or released): no new attempt may use it.</summary>
    public bool Closed { get; private set; }

    /// <summary>When the last reservation was made, to release an idle lease.</summary>
    public DateTimeOffset LastUsed { get; private set; }

    public decimal CeilingUsd
    {
        get { lock (_gate) { return _ceiling; } }
    }

    public decimal ChargedUsd
    {
        get { lock (_gate) { return _charged; } }
    }

    public decimal InFlightUsd
    {
        get { lock (_gate) { return _inFlight; } }
    }

    /// <summary>Something changed since the last report was sent.</summary>
    public bool HasNews
    {
        get { lock (_gate) { return _version != _reportedVersion; } }
    }

    /// <summary>No new attempt may use the lease from now on; its next report returns it.</summary>
    public void Seal()
    {
        lock (_gate)
        {
            Closed = true;
        }
    }

    /// <summary>Sets the attempt's worst case aside, if the lease is open, still valid here, and has room.</summary>
    public bool TryReserve(decimal amountUsd, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (LeaseId is null || Closed || now >= _validUntil || _charged + _inFlight + amountUsd > _ceiling)
            {
                return false;
            }

            _inFlight += amountUsd;
            _version++;
            LastUsed = now;
            return true;
        }
    }

    /// <summary>Gives back an attempt's reservation and charges what it really cost.</summary>
    public void Settle(decimal reservedUsd, decimal actualUsd)
    {
        lock (_gate)
        {
            _inFlight -= reservedUsd;
            if (_inFlight == 0)
            {
                _inFlight = 0m; // not a negative zero
            }

            _charged += actualUsd;
            _version++;
        }
    }

    /// <summary>The next report on this lease, with a new sequence number.</summary>
    public LeaseReport NextReport(string replicaId, decimal needUsd, decimal wantUsd, bool release)
    {
        lock (_gate)
        {
            _reportedVersion = _version;
            return new LeaseReport(replicaId, LeaseId, ++_sequence, _charged, _inFlight,
                release ? _charged + _inFlight : _ceiling, needUsd, wantUsd, release || Closed);
        }
    }

    /// <summary>
    /// Takes the grain's answer to a report sent at <paramref name="sentAt"/>. A shrunk ceiling never
    /// drops below what attempts have already started; the next report tells the grain so. The lease is
    /// used only until a third of its time-to-live before the grain would expire it.
    /// </summary>
    public void Apply(LeaseGrant grant, DateTimeOffset sentAt)
    {
        lock (_gate)
        {
            if (grant.Outcome == LeaseOutcome.Closed)
            {
                Closed = true;
                return;
            }

            if (Closed)
            {
                return;
            }

            LeaseId = grant.LeaseId;
            var ceiling = Math.Max(grant.CeilingUsd, _charged + _inFlight);
            if (ceiling != _ceiling)
            {
                _ceiling = ceiling;
                _version++;
            }

            _validUntil = sentAt + grant.ValidFor * 2 / 3;
        }
    }
}
