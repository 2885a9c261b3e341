using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RoutingData.Testing.Internal;

/// <summary>
/// A throw-away certificate authority and the server certificate it signs for one cluster. The CA's private key
/// never leaves this object, so nothing else can mint a certificate clients of this cluster would trust.
/// </summary>
internal sealed record ClusterCertificates(string CertificateAuthorityPem, string ServerCertificatePem, string ServerKeyPem)
{
    /// <summary>The CA certificate, as a file next to each data directory and in the cluster folder.</summary>
    public const string CertificateAuthorityFileName = "ca.crt";

    /// <summary>The server's certificate in the data directory (the default <c>ssl_cert_file</c>).</summary>
    public const string ServerCertificateFileName = "server.crt";

    /// <summary>The server's private key in the data directory (the default <c>ssl_key_file</c>; mode 0600).</summary>
    public const string ServerKeyFileName = "server.key";

    /// <summary>
    /// Creates a CA (self-signed, <c>CA:TRUE</c>, keyCertSign) and a server certificate it signs for
    /// <c>127.0.0.1</c>, <c>::1</c>, <c>localhost</c> and <paramref name="dnsNames"/> (the nodes' names, which are
    /// their network aliases on the container backend).
    /// </summary>
    public static ClusterCertificates Create(IEnumerable<string> dnsNames)
    {
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = notBefore.AddDays(30);

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=RoutingData.Testing cluster CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false));
        using var ca = caRequest.CreateSelfSigned(notBefore, notAfter);

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, critical: true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        serverRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(serverRequest.PublicKey, critical: false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        names.AddDnsName("localhost");
        foreach (var name in dnsNames)
        {
            names.AddDnsName(name);
        }

        serverRequest.CertificateExtensions.Add(names.Build());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // A positive serial number.
        using var server = serverRequest.Create(ca, notBefore, notAfter, serial);

        return new ClusterCertificates(ca.ExportCertificatePem() + "\n", server.ExportCertificatePem() + "\n", serverKey.ExportPkcs8PrivateKeyPem() + "\n");
    }
}
