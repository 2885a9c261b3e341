using Polly;
using RoutingData.Consistency;
using RoutingData.Routing;
using RoutingData.Sql;
using RoutingData.Topology;

namespace RoutingData.Resilience;

/// <summary>
/// One command across its attempts: what it is, where the next attempt goes, and what was already tried. The
/// resilience strategies read and steer it through the <see cref="ResilienceContext"/>; the connection runs each
/// attempt where it says. Reused through a per-thread spare (see <see cref="Rent"/>).
/// </summary>
internal sealed class CommandAttempt
{
    /// <summary>The key under which a routed command's attempt travels in its <see cref="ResilienceContext"/>.</summary>
    public static readonly ResiliencePropertyKey<CommandAttempt> Key = new("RoutingData.CommandAttempt");

    [ThreadStatic]
    private static CommandAttempt? t_spare;

    public RoutedConnection Connection { get; private set; } = null!;

    public IRoutedExecutable Target { get; private set; } = null!;

    public StatementClassification Classification { get; private set; }

    public ReadPreference? CommandPreference { get; private set; }

    public StaleReadPolicy? CommandPolicy { get; private set; }

    public bool Async { get; private set; }

    public CancellationToken CancellationToken { get; private set; }

    /// <summary>The topology the command was (or will be) routed on.</summary>
    public ClusterSnapshot Snapshot { get; set; } = null!;

    /// <summary>The consistency session of a read outside a transaction; null otherwise.</summary>
    public ConsistencySession? Session { get; set; }

    /// <summary>The session's position when the command was routed.</summary>
    public SessionPosition Position { get; set; }

    /// <summary>Whether <see cref="Position"/> was resolved: the first routing got as far as choosing a host.</summary>
    public bool PositionResolved { get; set; }

    /// <summary>
    /// The position a replica must be known to have replayed to serve this read in the primary's place; <see cref="ulong.MaxValue"/>
    /// when only the primary can serve it (a write, a read on the primary by preference or pinning, a pending position)
    /// or when routing failed before the session's position was resolved.
    /// </summary>
    public ulong ReplicaMinLsn =>
        PositionResolved && !NeedsPrimary && !InTransaction && RoutingRules.EffectivePreference(Classification, CommandPreference, Connection) != ReadPreference.Primary
            ? Position.MinLsn
            : ulong.MaxValue;

    /// <summary>Where the next attempt runs; valid once <see cref="Routed"/> is set.</summary>
    public RoutingDecision Decision { get; set; }

    /// <summary>Whether <see cref="Decision"/> was made; the first attempt routes the command itself.</summary>
    public bool Routed { get; set; }

    /// <summary>The position the chosen replica must have replayed, checked in the same round trip (0: none).</summary>
    public ulong RequiredReplayLsn { get; set; }

    /// <summary>Whether the last attempt reached the point of sending (a failure before it left nothing on any server).</summary>
    public bool Sent { get; set; }

    /// <summary>The error of the last attempt as it happened, before it was turned into the caller's typed outcome.</summary>
    public Exception? Failure { get; set; }

    /// <summary>
    /// The outcome of a first attempt that ran outside the pipeline (<see cref="ReplicatedDataSource.FastPathReroute"/>) and
    /// must be rerouted: the pipeline's first callback hands it back instead of running the command again.
    /// </summary>
    public object? FirstOutcome { get; set; }

    /// <summary>The route of the last attempt that was sent.</summary>
    public RouteInfo? Route { get; set; }

    /// <summary>Whether a standby refused the statement because it writes: from then on it is a write.</summary>
    public bool RefusedByStandby { get; set; }

    public bool StandbyRetried { get; set; }

    public bool ConflictRetried { get; set; }

    public bool ConnectionLossRetried { get; set; }

    /// <summary>Whether the command already waited for a primary (<see cref="PrimaryWaitStrategy"/>): it waits once.</summary>
    public bool PrimaryWaited { get; set; }

    /// <summary>Every wait of the command for a primary draws on one deadline (see <see cref="PrimaryWaitLeft"/>).</summary>
    private Internal.WaitDeadline _primaryWait;

    /// <summary>
    /// What is left of the command's time to wait for a primary, starting that time at the first call: every wait of one
    /// command for a primary (before an attempt, after a failed one, in a reroute) draws on the bound its first wait
    /// started with (<paramref name="bound"/> then; later calls' bounds are ignored), counted from that first wait.
    /// </summary>
    public TimeSpan PrimaryWaitLeft(TimeSpan bound, TimeProvider timeProvider) => _primaryWait.Left(bound, timeProvider);

    /// <summary>Whether the command has already waited for a primary for all of its bound (see <see cref="PrimaryWaitLeft"/>).</summary>
    public bool PrimaryWaitExhausted(TimeProvider timeProvider) => _primaryWait.Exhausted(timeProvider);

    /// <summary>How many times the command moved because its host could not be reached.</summary>
    public int UnreachableReroutes { get; set; }

    /// <summary>
    /// Whether the command runs in the connection's open transaction (never re-run anywhere). Fixed when the command
    /// starts: a transaction abandoned by a failed attempt must not make its statement look free to run elsewhere.
    /// </summary>
    public bool InTransaction { get; private set; }

    /// <summary>Whether the command needs the primary whatever the topology: a write, session state, a pinned connection.</summary>
    public bool NeedsPrimary => !InTransaction && (!Classification.IsRead || Classification.PinsSession || Connection.IsPinnedToPrimary);

    /// <summary>
    /// Takes this thread's spare attempt, or a new one. A command that opens and closes its connection (as a web request does)
    /// reuses one instead of allocating one per connection; an attempt is never shared, so two commands never meet in one.
    /// </summary>
    public static CommandAttempt Rent()
    {
        var attempt = t_spare;
        if (attempt is null)
        {
            return new CommandAttempt();
        }

        t_spare = null;
        return attempt;
    }

    public void Begin(RoutedConnection connection, IRoutedExecutable target, in StatementClassification classification, ReadPreference? commandPreference, StaleReadPolicy? commandPolicy, ClusterSnapshot snapshot, bool async, CancellationToken cancellationToken)
    {
        Connection = connection;
        Target = target;
        Classification = classification;
        CommandPreference = commandPreference;
        CommandPolicy = commandPolicy;
        Snapshot = snapshot;
        Async = async;
        CancellationToken = cancellationToken;
        InTransaction = connection.CurrentTransaction is not null;
    }

    /// <summary>Clears everything that would keep objects alive and hands the attempt back.</summary>
    public void Return()
    {
        Target = null!;
        Snapshot = null!;
        Session = null;
        Position = default;
        PositionResolved = false;
        Decision = default;
        Routed = false;
        RequiredReplayLsn = 0;
        Sent = false;
        Failure = null;
        FirstOutcome = null;
        Route = null;
        RefusedByStandby = false;
        StandbyRetried = false;
        ConflictRetried = false;
        ConnectionLossRetried = false;
        PrimaryWaited = false;
        _primaryWait = default;
        UnreachableReroutes = 0;
        CancellationToken = default;
        InTransaction = false;
        Connection = null!;
        t_spare = this; // The thread the command ended on keeps it for its next command.
    }
}
