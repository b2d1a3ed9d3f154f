using System.Net;
using System.Net.Sockets;

namespace Navigator.Testing;

/// <summary>Azurite for tests. test.sh starts it and sets NAVIGATOR_TEST_STORAGE; otherwise the default ports are used.</summary>
public static class TestStorage
{
    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("NAVIGATOR_TEST_STORAGE") is { Length: > 0 } value ? value : "UseDevelopmentStorage=true";

    /// <summary>A fresh service id isolates a test's grain state and cluster membership from every other run.</summary>
    public static string NewServiceId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 33)];

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
