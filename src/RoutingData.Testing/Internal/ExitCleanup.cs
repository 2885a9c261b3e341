using System.Collections.Concurrent;

namespace RoutingData.Testing.Internal;

/// <summary>
/// What to kill and delete if the process ends (normally or on SIGTERM) while a cluster is still alive; a SIGKILL'd
/// run is cleaned up by the next run's janitor instead.
/// </summary>
internal static class ExitCleanup
{
    private static readonly ConcurrentDictionary<object, Action> Live = new();
    private static int _registered;

    /// <summary>Runs <paramref name="cleanup"/> at process exit unless <see cref="Remove"/> is called for <paramref name="owner"/> first.</summary>
    public static void Add(object owner, Action cleanup)
    {
        Live[owner] = cleanup;
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                foreach (var action in Live.Values)
                {
                    action();
                }
            };
        }
    }

    /// <summary>The owner cleaned up after itself.</summary>
    public static void Remove(object owner) => Live.TryRemove(owner, out _);
}
