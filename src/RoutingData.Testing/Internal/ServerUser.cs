namespace RoutingData.Testing.Internal;

/// <summary>
/// PostgreSQL refuses to run as root. When this process is root, server tools run as the
/// <c>postgres</c> user through <c>runuser</c>, and files the server must own are chowned to it.
/// </summary>
internal static class ServerUser
{
    public const string Name = "postgres";

    public static bool RunAsServerUser => Environment.IsPrivilegedProcess;

    public static (string FileName, List<string> Arguments) Wrap(string fileName, IReadOnlyList<string> arguments)
    {
        if (!RunAsServerUser)
        {
            return (fileName, new List<string>(arguments));
        }

        var wrapped = new List<string>(arguments.Count + 4) { "-u", Name, "--", fileName };
        wrapped.AddRange(arguments);
        return ("runuser", wrapped);
    }

    public static async Task ChownAsync(string path, CancellationToken cancellationToken)
    {
        if (!RunAsServerUser)
        {
            return;
        }

        var result = await ProcessRunner.RunAsync("chown", [$"{Name}:{Name}", path], null, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new ClusterHarnessException(
                $"Could not give '{path}' to the '{Name}' user ({result.Describe()}). When running as root, the harness needs a '{Name}' user (the postgresql package creates it).");
        }
    }
}
