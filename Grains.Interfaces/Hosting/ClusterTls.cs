using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Orleans.Connections.Security;

namespace Navigator.Grains.Hosting;

/// <summary>
/// Mutual TLS on the cluster's own connections (API → silo gateway, silo ↔ silo), with Orleans'
/// <c>Microsoft.Orleans.Connections.Security</c>. Off unless <c>Orleans:Tls:Enabled</c> is true, so
/// loopback development stays plaintext. When on, every side shows its certificate and accepts only
/// a peer whose certificate chains to the cluster's CA (<c>Orleans:Tls:CaPath</c>), or, without a CA,
/// a peer showing the same self-signed certificate. Host names are not checked: silos are addressed by
/// pod IP, and the CA is the cluster's own, so being issued by it is the identity.
/// </summary>
public static class ClusterTls
{
    public const string Section = "Orleans:Tls";

    /// <summary>The name a connecting side asks for (SNI); the certificate's names are not checked against it.</summary>
    public const string TargetHost = "navigator-cluster";

    public static ISiloBuilder UseNavigatorTls(this ISiloBuilder silo)
    {
        if (Load(silo.Configuration) is { } tls)
        {
            silo.UseTls(tls.Certificate, o =>
            {
                Configure(o, tls);
                o.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
            });
        }

        return silo;
    }

    public static IClientBuilder UseNavigatorTls(this IClientBuilder client)
    {
        if (Load(client.Configuration) is { } tls)
        {
            client.UseTls(tls.Certificate, o => Configure(o, tls));
        }

        return client;
    }

    /// <summary>True when <paramref name="certificate"/> chains to one of <paramref name="authorities"/> and is valid now.</summary>
    public static bool IsIssuedBy(X509Certificate2 certificate, X509Certificate2Collection authorities, X509Chain? presented = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(certificate);
    }

    private static void Configure(TlsOptions o, Settings tls)
    {
        o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        // The platform's checks fail for a private CA and for pod IPs; this one decides instead.
        o.RemoteCertificateValidation = (certificate, chain, _) => IsIssuedBy(certificate, tls.Authorities, chain);
        o.OnAuthenticateAsClient = (_, client) => client.TargetHost = TargetHost;
    }

    private sealed record Settings(X509Certificate2 Certificate, X509Certificate2Collection Authorities);

    private static Settings? Load(IConfiguration config)
    {
        var section = config.GetSection(Section);
        if (!bool.TryParse(section["Enabled"], out var enabled) || !enabled)
        {
            return null;
        }

        var certificatePath = Required(section, "CertificatePath");
        var keyPath = section["KeyPath"];
        X509Certificate2 certificate;
        try
        {
            certificate = keyPath is { Length: > 0 }
                ? X509Certificate2.CreateFromPemFile(certificatePath, keyPath)
                : X509CertificateLoader.LoadPkcs12FromFile(certificatePath, section["CertificatePassword"]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException(
                $"{Section}:CertificatePath '{certificatePath}' (with {Section}:KeyPath '{keyPath}') could not be loaded: {ex.Message}", ex);
        }

        if (!certificate.HasPrivateKey)
        {
            throw new InvalidOperationException($"{Section}:CertificatePath '{certificatePath}' has no private key; set {Section}:KeyPath to its PEM key.");
        }

        var authorities = new X509Certificate2Collection();
        if (section["CaPath"] is { Length: > 0 } caPath)
        {
            try
            {
                authorities.ImportFromPemFile(caPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new InvalidOperationException($"{Section}:CaPath '{caPath}' could not be loaded: {ex.Message}", ex);
            }

            if (authorities.Count == 0)
            {
                throw new InvalidOperationException($"{Section}:CaPath '{caPath}' holds no PEM certificate.");
            }
        }
        else
        {
            // One self-signed certificate shared by the whole cluster trusts itself.
            authorities.Add(X509CertificateLoader.LoadCertificate(certificate.RawData));
        }

        return new Settings(certificate, authorities);
    }

    private static string Required(IConfigurationSection section, string key) =>
        section[key] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{Section}:Enabled is true but {Section}:{key} is not set.");
}
