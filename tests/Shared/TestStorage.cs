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

    /// <summary>
    /// A free loopback port below Linux's ephemeral range (32768 and up). A port the OS hands out for
    /// port 0 is an ephemeral one, and an outgoing connection (to Azurite, say) can take it again before
    /// the process meant to listen on it binds it; ports below the range are never handed out that way.
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException) when (attempt < 100)
            {
                // In use: try another.
            }
        }
    }
}
