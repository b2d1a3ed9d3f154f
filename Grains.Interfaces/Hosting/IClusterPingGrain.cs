namespace Navigator.Grains.Hosting;

/// <summary>
/// A replica's readiness probe into the cluster: a stateless worker, so it runs on the silo the client reaches, and it
/// answers from that silo's membership view in memory. It reads no storage, so a storage outage does not take every
/// replica out of its Service while they can still serve, or refuse with a 503 and Retry-After.
/// </summary>
[Alias("Navigator.IClusterPingGrain")]
public interface IClusterPingGrain : IGrainWithIntegerKey
{
    /// <summary>The active silos in the answering silo's membership view.</summary>
    [Alias("ActiveSilos")]
    Task<int> ActiveSilosAsync();
}
