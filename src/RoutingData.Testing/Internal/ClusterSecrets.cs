using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace RoutingData.Testing.Internal;

/// <summary>Generated passwords, their SCRAM-SHA-256 verifiers and the .pgpass file the server tools read them from.</summary>
internal static class ClusterSecrets
{
    /// <summary>The file, next to each data directory, that libpq tools read passwords from (<c>passfile=</c>).</summary>
    public const string PassFileName = ".pgpass";

    /// <summary>A file initdb reads the superuser's password from; deleted right after initdb.</summary>
    public const string InitdbPasswordFileName = "initdb.pw";

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>32 random letters and digits (about 190 bits): nothing to quote in any file or connection string.</summary>
    public static string NewPassword() => RandomNumberGenerator.GetString(Alphabet, 32);

    /// <summary>
    /// The verifier PostgreSQL stores for <paramref name="password"/> (RFC 5802/7677):
    /// <c>SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey</c>. Sending it in <c>CREATE ROLE … PASSWORD</c> keeps
    /// the password itself off the wire and out of any server log.
    /// </summary>
    public static string ScramVerifier(string password, int iterations = 4096)
    {
        // SASLprep leaves the generated passwords (ASCII letters and digits) unchanged.
        var salt = RandomNumberGenerator.GetBytes(16);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var storedKey = SHA256.HashData(HMACSHA256.HashData(salted, "Client Key"u8));
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"SCRAM-SHA-256${iterations}:{Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}");
    }

    /// <summary>A .pgpass line for <paramref name="user"/> on any host, port and database.</summary>
    public static string PassFileLine(string user, string password) =>
        $"*:*:*:{EscapePassFileField(user)}:{EscapePassFileField(password)}\n";

    private static string EscapePassFileField(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(":", "\\:", StringComparison.Ordinal);
}
