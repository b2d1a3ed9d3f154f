using Navigator.Grains.Hosting;
using Orleans.Concurrency;

namespace Navigator.Grains;

/// <inheritdoc cref="IClusterPingGrain"/>
[StatelessWorker]
public sealed class ClusterPingGrain(IClusterMembershipService membership) : Grain, IClusterPingGrain
{
    public Task<int> ActiveSilosAsync() =>
        Task.FromResult(membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active));
}
