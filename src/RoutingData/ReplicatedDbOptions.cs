namespace RoutingData;

/// <summary>
/// Settings of a <see cref="ReplicatedDataSource"/>. Bindable from configuration
/// (<c>services.AddReplicatedDb(configuration.GetSection("ReplicatedDb"))</c>) and validated when the
/// data source is built or the host starts.
/// </summary>
public sealed class ReplicatedDbOptions
{
    /// <summary>
    /// Gets or sets the Npgsql connection string naming every host of the cluster:
    /// <c>Host=a:5432,b:5432,c:5432;Username=app;Password=…;Database=app</c>. Hosts without a port use <c>Port</c> (default 5432).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets where reads go unless a command, connection or SQL hint says otherwise.</summary>
    /// <value>The default value is <see cref="ReadPreference.ReplicaPreferred"/>.</value>
    public ReadPreference DefaultReadPreference { get; set; } = ReadPreference.ReplicaPreferred;

    /// <summary>Gets or sets how reads are spread over the eligible replicas.</summary>
    /// <value>The default value is <see cref="LoadBalancingStrategy.RoundRobin"/>.</value>
    public LoadBalancingStrategy LoadBalancing { get; set; } = LoadBalancingStrategy.RoundRobin;

    /// <summary>
    /// Gets the relative weight of each replica (<c>host:port</c> → weight) for <see cref="LoadBalancingStrategy.Weighted"/>.
    /// Replicas not listed weigh 1; weight 0 takes no reads.
    /// </summary>
    public IDictionary<string, int> ReplicaWeights { get; } = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Gets or sets the most WAL bytes a replica may be behind the primary and still take reads; null for no byte bound.
    /// A replica that far behind needs time to replay it even when its stream is quick.
    /// </summary>
    /// <value>The default value is 64 MiB.</value>
    public long? MaxReplicaLagBytes { get; set; } = DefaultMaxReplicaLagBytes;

    internal const long DefaultMaxReplicaLagBytes = 64L * 1024 * 1024;

    /// <summary>Gets or sets the most replay time a replica may be behind the primary and still take reads; null for no time bound.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan? MaxReplicaLag { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how far a replica taken out of reads for lag must come back before it takes reads again, as a
    /// fraction of <see cref="MaxReplicaLag"/> and <see cref="MaxReplicaLagBytes"/>. A replica hovering at the bound then
    /// does not flap in and out of the rotation (and drag reads to the primary and back) every probe. 1 re-admits it as
    /// soon as it is within the bound.
    /// </summary>
    /// <value>The default value is 0.5: out above the bound, back in below half of it.</value>
    public double LagReadmitFraction { get; set; } = 0.5;

    /// <summary>
    /// Gets or sets how many physical connections to the primary reads may hold that fall back to it because no replica
    /// can take them (every replica down or past the lag bound: <see cref="RoutingReason.LagBound"/>,
    /// <see cref="RoutingReason.NoHealthyReplica"/>). A read that would need one more is shed at once with
    /// <see cref="ReadsShedException"/> instead of queueing for the primary's pool, so writes keep the rest of the pool
    /// while the replicas are out. A read on a connection that already holds a primary connection is never shed; nor are
    /// reads sent to the primary for read-your-writes (<see cref="RoutingReason.NotCaughtUp"/>) or by preference.
    /// Null: half of the primary pool's <c>Maximum Pool Size</c> (Npgsql's default 100, so 50).
    /// </summary>
    /// <value>The default value is null (half the primary's pool).</value>
    public int? MaxFallbackReadConnections { get; set; }

    /// <summary>
    /// Gets or sets what a read does when no replica is eligible under <see cref="ReadPreference.ReplicaPreferred"/>:
    /// true to use the primary, false to throw <see cref="NoSuitableHostException"/>.
    /// </summary>
    /// <value>The default value is true.</value>
    public bool FallbackToPrimary { get; set; } = true;

    /// <summary>Gets or sets how often the topology monitor probes every host (role, timeline, replay position, lag, round-trip time).</summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan TopologyProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how long one probe of one host may take before the host counts as unhealthy.</summary>
    /// <value>The default value is 2 seconds.</value>
    public TimeSpan TopologyProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets or sets the longest wait between probes of an unhealthy host (the wait doubles after each failure).</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan MaxProbeBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how long the first command waits for the first probe of every host.</summary>
    /// <value>The default value is 15 seconds.</value>
    public TimeSpan InitialTopologyTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Gets function names to treat as read-only even if the server says they are VOLATILE
    /// (for example a user function that only reads). Schema-qualify as <c>schema.name</c> or give the bare name.
    /// </summary>
    public IList<string> ReadOnlyFunctions { get; } = [];

    /// <summary>Gets function names to treat as writing (sent to the primary) whatever the server says.</summary>
    public IList<string> WritingFunctions { get; } = [];

    /// <summary>
    /// Gets or sets how often every host is probed while the primary is in doubt: no primary answers, or a command found
    /// a host unreachable. The fast cadence lasts until a primary is confirmed (at most <see cref="FailoverProbingWindow"/>
    /// per episode), so a promoted standby is found by its own change of role, with or without traffic.
    /// </summary>
    /// <value>The default value is 50 milliseconds.</value>
    public TimeSpan FailoverProbeInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Gets or sets how long one episode of fast probing (<see cref="FailoverProbeInterval"/>) may last.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan FailoverProbingWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how long a write (or a transaction, a pinned connection's command, or a read only the primary can
    /// serve: the session's last write has reached no replica yet, or no replica is eligible and
    /// <see cref="FallbackToPrimary"/> is on) waits for a primary when none is known — during a failover — before it
    /// fails with <see cref="NoSuitableHostException"/>; such a read stops waiting as soon as a replica is known to have
    /// the session's position. It only waits while nothing of it has been sent. This bounds the command as a whole: its
    /// waits for a primary before its first attempt, after a failed one and in reroutes share it, counted from its first
    /// wait. <see cref="TimeSpan.Zero"/> fails at once.
    /// </summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan MaxWaitForPrimary { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets Patroni REST API endpoints (<c>http://db1:8008</c>, one per Patroni node or a load balancer in front of them)
    /// whose <c>GET /cluster</c> the monitor polls every <see cref="TopologySourcePollInterval"/>, trying the next when
    /// one does not answer within <see cref="TopologyProbeTimeout"/>. Empty: Patroni is not asked.
    /// </summary>
    /// <remarks>
    /// What Patroni says is a hint the probes confirm: a leader other than the probed primary (or none, or a primary it
    /// says is not running) makes the monitor probe every host at once and at the failover cadence; writes still go only
    /// where a probe found the primary. User info (<c>http://user:password@db1:8008</c>) is sent as Basic authentication
    /// and never shown. Members are matched to the connection string's hosts by host and port as Patroni reports them
    /// (its <c>postgresql.connect_address</c>).
    /// </remarks>
    public IList<Uri> PatroniEndpoints { get; } = [];

    /// <summary>
    /// Gets or sets how often each topology source (<see cref="PatroniEndpoints"/>, or one added with
    /// <see cref="ReplicatedDataSourceBuilder.UseTopologySource"/>) is polled.
    /// </summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan TopologySourcePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how often the function catalog (volatility from <c>pg_proc</c>) is reloaded.</summary>
    /// <value>The default value is 5 minutes.</value>
    public TimeSpan FunctionCatalogRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Gets or sets a value indicating whether reads honour consistency sessions: a replica serves a read only after
    /// replaying past the session's own writes and what it already read (read-your-writes, monotonic reads).
    /// </summary>
    /// <value>The default value is true.</value>
    public bool ReadYourWrites { get; set; } = true;

    /// <summary>
    /// Gets or sets a value indicating whether reads also advance the session (monotonic reads: never read older data
    /// than already read). Each read then carries one more small statement in its round trip; off, only writes do.
    /// </summary>
    /// <value>The default value is true.</value>
    public bool MonotonicReads { get; set; } = true;

    /// <summary>Gets or sets how sessions learn the WAL position of their commands.</summary>
    /// <value>The default value is <see cref="LsnCaptureMode.Background"/>.</value>
    public LsnCaptureMode LsnCapture { get; set; } = LsnCaptureMode.Background;

    /// <summary>
    /// Gets or sets the shortest time between two background captures of the primary's position
    /// (<see cref="LsnCaptureMode.Background"/>): one capture covers every command acknowledged before it started, so this
    /// bounds the captures to one per interval however many sessions write, and a read right after a write waits at most
    /// about this long (plus a round trip) for its position.
    /// </summary>
    /// <value>The default value is 2 milliseconds.</value>
    public TimeSpan LsnCaptureInterval { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Gets or sets what a read does when no replica has caught up with its session.</summary>
    /// <value>The default value is <see cref="StaleReadPolicy.FallbackToPrimary"/>.</value>
    public StaleReadPolicy StaleReadPolicy { get; set; } = StaleReadPolicy.FallbackToPrimary;

    /// <summary>Gets or sets how long <see cref="StaleReadPolicy.Wait"/> waits for a replica before reading from the primary.</summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan MaxReadYourWritesWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets or sets how long a read may wait to get back onto a replica after reading the primary, when a replica already
    /// has the session's own writes and only what the session happened to read on the primary is newer: the read waits
    /// (at most this long, once) for a replica whose measured lag is within this bound, instead of reading the primary
    /// again. <see cref="TimeSpan.Zero"/> never waits (every such read goes to the primary, as with no rejoin).
    /// </summary>
    /// <remarks>
    /// Without it, a session that reads the primary sees the primary's newest state, which lagging replicas reach only
    /// their lag later; if the session reads again sooner, it reads the primary again, and under a steady stream of other
    /// writers it never gets back onto a replica. A read right after the session's own write never waits for this (its
    /// write is not on a replica yet); a rejoin that did not catch up is not tried again by that session for a while
    /// (1 s, doubling to 30 s). Applies to <see cref="StaleReadPolicy.FallbackToPrimary"/> and
    /// <see cref="StaleReadPolicy.Throw"/>; <see cref="StaleReadPolicy.Wait"/> waits up to
    /// <see cref="MaxReadYourWritesWait"/> anyway.
    /// </remarks>
    /// <value>The default value is 500 milliseconds.</value>
    public TimeSpan MaxRejoinWait { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Gets or sets a secret (at least 32 characters) that signs exported session tokens; resumed tokens must then carry
    /// a valid signature, so clients cannot forge tokens that force primary reads. Null: tokens are not signed.
    /// </summary>
    public string? TokenSigningKey { get; set; }

    /// <summary>Gets or sets what happens to a session token that cannot be used.</summary>
    /// <value>The default value is <see cref="InvalidTokenHandling.Reject"/>.</value>
    public InvalidTokenHandling InvalidTokenHandling { get; set; } = InvalidTokenHandling.Reject;

    /// <summary>
    /// Gets or sets how far a resumed token may be ahead of the primary's last known WAL position before it counts as
    /// invalid (no real write can be ahead of the primary; the margin covers the monitor's probe interval).
    /// </summary>
    /// <value>The default value is 1 GiB.</value>
    public long MaxTokenAheadBytes { get; set; } = 1L << 30;

    /// <summary>
    /// Gets or sets what happens when a consistency session's writes are found lost in a failover: its token is on the old
    /// primary's timeline, past the point where the promoted standby's timeline forked off (the standby had not received
    /// them). Finding the fork point needs the new primary's timeline history file, which only a superuser or a member of
    /// <c>pg_read_server_files</c> may read; without it such sessions read from the primary until they move on, and losses are not seen.
    /// </summary>
    /// <value>The default value is <see cref="LostWritesPolicy.Throw"/>: the session's next command throws <see cref="SessionWritesLostException"/>, once.</value>
    public LostWritesPolicy LostWritesPolicy { get; set; } = LostWritesPolicy.Throw;

    /// <summary>Values from configuration that did not convert; reported with the validator's problems.</summary>
    internal List<string> BindingProblems { get; } = [];

    /// <summary>A copy, so a built data source is not changed by later edits of the options object.</summary>
    internal ReplicatedDbOptions Clone()
    {
        var clone = new ReplicatedDbOptions
        {
            ConnectionString = ConnectionString,
            DefaultReadPreference = DefaultReadPreference,
            LoadBalancing = LoadBalancing,
            MaxReplicaLagBytes = MaxReplicaLagBytes,
            MaxReplicaLag = MaxReplicaLag,
            LagReadmitFraction = LagReadmitFraction,
            MaxFallbackReadConnections = MaxFallbackReadConnections,
            FallbackToPrimary = FallbackToPrimary,
            TopologyProbeInterval = TopologyProbeInterval,
            TopologyProbeTimeout = TopologyProbeTimeout,
            MaxProbeBackoff = MaxProbeBackoff,
            FailoverProbeInterval = FailoverProbeInterval,
            FailoverProbingWindow = FailoverProbingWindow,
            MaxWaitForPrimary = MaxWaitForPrimary,
            InitialTopologyTimeout = InitialTopologyTimeout,
            FunctionCatalogRefreshInterval = FunctionCatalogRefreshInterval,
            TopologySourcePollInterval = TopologySourcePollInterval,
            ReadYourWrites = ReadYourWrites,
            MonotonicReads = MonotonicReads,
            LsnCapture = LsnCapture,
            LsnCaptureInterval = LsnCaptureInterval,
            StaleReadPolicy = StaleReadPolicy,
            MaxReadYourWritesWait = MaxReadYourWritesWait,
            MaxRejoinWait = MaxRejoinWait,
            TokenSigningKey = TokenSigningKey,
            InvalidTokenHandling = InvalidTokenHandling,
            MaxTokenAheadBytes = MaxTokenAheadBytes,
            LostWritesPolicy = LostWritesPolicy,
        };
        foreach (var (host, weight) in ReplicaWeights)
        {
            clone.ReplicaWeights[host] = weight;
        }

        foreach (var name in ReadOnlyFunctions)
        {
            clone.ReadOnlyFunctions.Add(name);
        }

        foreach (var name in WritingFunctions)
        {
            clone.WritingFunctions.Add(name);
        }

        foreach (var endpoint in PatroniEndpoints)
        {
            clone.PatroniEndpoints.Add(endpoint);
        }

        clone.BindingProblems.AddRange(BindingProblems);
        return clone;
    }
}
