using Orleans.Configuration;

namespace Navigator.Grains.Hosting;

/// <summary>The Orleans client settings shared by the API, the tests and the tools, so they all behave like the API.</summary>
public static class ClientDefaults
{
    /// <summary>
    /// Learn of a lost silo within a second (the gateway list is refreshed every second), never let a
    /// grain call outlive the request deadline by much (5 s response timeout), carry the request's
    /// trace into the grains, and speak mutual TLS to the silos when <c>Orleans:Tls:Enabled</c> is set.
    /// </summary>
    public static IClientBuilder UseNavigatorClientDefaults(this IClientBuilder client)
    {
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5));
        client.AddActivityPropagation();
        client.UseNavigatorTls();
        return client;
    }
}
