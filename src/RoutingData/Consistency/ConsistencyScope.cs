namespace RoutingData;

/// <summary>
/// An ambient consistency session for work that has no DI scope (background jobs, message handlers): every routed
/// connection used inside <c>using (ConsistencyScope.Begin()) { … }</c> — across awaits — shares one session
/// unless a connection was given its own.
/// </summary>
public sealed class ConsistencyScope : IDisposable
{
    private static readonly AsyncLocal<ConsistencyScope?> Ambient = new();
    private readonly ConsistencyScope? _parent;
    private bool _disposed;

    private ConsistencyScope(ConsistencySession session, StaleReadPolicy? policy, ReadPreference? readPreference)
    {
        Session = session;
        StaleReadPolicy = policy;
        _parent = Ambient.Value;
        ReadPreference = readPreference ?? _parent?.ReadPreference;
        Ambient.Value = this;
    }

    /// <summary>Gets the innermost scope of the current async flow, if any.</summary>
    public static ConsistencyScope? Current => Ambient.Value;

    /// <summary>Gets the scope's session.</summary>
    public ConsistencySession Session { get; }

    /// <summary>Gets the policy for reads in this scope when no replica has caught up; null defers to the session and data source.</summary>
    public StaleReadPolicy? StaleReadPolicy { get; }

    /// <summary>
    /// Where reads in the scope go when neither the command nor its connection says (an endpoint's
    /// <see cref="ReadPreferenceAttribute"/>, set by the ASP.NET Core integration); inherited by inner scopes.
    /// </summary>
    internal ReadPreference? ReadPreference { get; }

    /// <summary>Starts a scope; dispose it to end it.</summary>
    /// <param name="session">The session to use; null for a new one.</param>
    /// <param name="staleReadPolicy">The policy for reads in the scope; null to defer.</param>
    /// <returns>The scope.</returns>
    public static ConsistencyScope Begin(ConsistencySession? session = null, StaleReadPolicy? staleReadPolicy = null) =>
        new(session ?? new ConsistencySession(), staleReadPolicy, null);

    /// <summary>Starts a scope whose reads follow <paramref name="readPreference"/> unless a command or connection says otherwise.</summary>
    internal static ConsistencyScope Begin(ConsistencySession session, StaleReadPolicy? staleReadPolicy, ReadPreference? readPreference) =>
        new(session, staleReadPolicy, readPreference);

    /// <summary>Ends the scope; the enclosing one (if any) becomes current again.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            if (Ambient.Value == this)
            {
                Ambient.Value = _parent;
            }
        }
    }
}
