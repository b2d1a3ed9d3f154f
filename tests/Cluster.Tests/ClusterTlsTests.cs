using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Navigator.Grains.Hosting;
using Navigator.Grains.Providers;
using Orleans.Configuration;
using Navigator.Testing;

namespace Navigator.Cluster.Tests;

/// <summary>
/// Mutual TLS on the silo's gateway (Orleans:Tls): only a client with a certificate issued by the cluster's CA
/// may connect and call a grain. The silo and the clients are the product's own hosting code.
/// </summary>
public sealed class ClusterTlsTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("navigator-tls-").FullName;
    private TestSilo? _silo;
    private Dictionary<string, string?> _trusted = [];
    private Dictionary<string, string?> _rogue = [];

    public async Task InitializeAsync()
    {
        using var ca = Authority("Navigator test cluster CA");
        using var rogueCa = Authority("Somebody else's CA");
        _trusted = Write("trusted", ca, Leaf(ca, "navigator-cluster"));
        _rogue = Write("rogue", rogueCa, Leaf(rogueCa, "navigator-cluster"));
        var silo = new Dictionary<string, string?>(_trusted);
        _silo = await TestSilo.StartAsync(TestStorage.NewServiceId("tls"), TestStorage.NewServiceId("tls"), silo);
    }

    [Fact]
    public async Task A_client_with_the_cluster_certificate_calls_a_grain()
    {
        using var client = await TestSilo.StartClientAsync(_silo!.ClusterId, _silo.ServiceId, _trusted);

        var snapshot = await client.Services.GetRequiredService<IGrainFactory>().GetGrain<IProviderHealthGrain>("openai").GetStatusAsync();

        Assert.Equal("openai", snapshot.Provider);
    }

    [Fact]
    public async Task A_plaintext_client_calls_no_grain()
    {
        // The Orleans client keeps retrying the refused gateway rather than failing: no call gets through in 15 s.
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var client = await TestSilo.StartClientAsync(_silo!.ClusterId, _silo.ServiceId).WaitAsync(cancel.Token);
            await client.Services.GetRequiredService<IGrainFactory>().GetGrain<IProviderHealthGrain>("openai").GetStatusAsync().WaitAsync(cancel.Token);
        });
    }

    [Fact]
    public async Task The_gateway_keeps_a_tls_connection_only_from_a_certificate_the_cluster_ca_issued()
    {
        // The silo checks the client's certificate once its side of the handshake is done, and drops the
        // connection if it is missing or not the cluster CA's; a trusted one is kept, waiting for Orleans' preamble.
        Assert.False(await DroppedAsync(Certificate(_trusted)));
        Assert.True(await DroppedAsync(null));
        Assert.True(await DroppedAsync(Certificate(_rogue)));
    }

    /// <summary>True if the gateway refuses or closes a TLS connection made with <paramref name="clientCertificate"/> within 3 s.</summary>
    private async Task<bool> DroppedAsync(X509Certificate2? clientCertificate)
    {
        var port = _silo!.Host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value.GatewayPort;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var tls = new SslStream(tcp.GetStream());
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = ClusterTls.TargetHost,
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                RemoteCertificateValidationCallback = (_, _, _, _) => true, // the silo's side is under test here
            }).WaitAsync(TimeSpan.FromSeconds(15));
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            return await tls.ReadAsync(new byte[1], patience.Token) == 0;
        }
        catch (OperationCanceledException)
        {
            return false; // still open
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException)
        {
            return true;
        }
    }

    private static X509Certificate2 Certificate(Dictionary<string, string?> settings) =>
        X509Certificate2.CreateFromPemFile(settings["Orleans:Tls:CertificatePath"]!, settings["Orleans:Tls:KeyPath"]);

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static X509Certificate2 Leaf(X509Certificate2 authority, string name)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        var serial = RandomNumberGenerator.GetBytes(16);
        using var signed = request.Create(authority, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>The PEM files a Kubernetes TLS secret holds (tls.crt, tls.key, ca.crt), and the settings that point at them.</summary>
    private Dictionary<string, string?> Write(string name, X509Certificate2 authority, X509Certificate2 leaf)
    {
        var certificate = Path.Combine(_dir, $"{name}.crt");
        var key = Path.Combine(_dir, $"{name}.key");
        var ca = Path.Combine(_dir, $"{name}-ca.crt");
        File.WriteAllText(certificate, leaf.ExportCertificatePem());
        File.WriteAllText(key, leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(ca, authority.ExportCertificatePem());
        leaf.Dispose();
        return new Dictionary<string, string?>
        {
            ["Orleans:Tls:Enabled"] = "true",
            ["Orleans:Tls:CertificatePath"] = certificate,
            ["Orleans:Tls:KeyPath"] = key,
            ["Orleans:Tls:CaPath"] = ca,
        };
    }
}
