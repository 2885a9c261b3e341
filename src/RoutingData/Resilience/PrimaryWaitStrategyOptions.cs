using Polly;

namespace RoutingData;

/// <summary>
/// Options of the primary-wait strategy: a command that needs the primary (a write, session state, a pinned
/// connection, or a read only the primary can serve — the session's last write has reached no replica yet, or no
/// replica is eligible and <see cref="ReplicatedDbOptions.FallbackToPrimary"/> is on) while no primary is known — a
/// failover in progress — waits for the monitor to find one instead of failing at once; such a read also stops waiting
/// when a replica is known to have its session's position. Nothing has been sent while it waits, so nothing can run twice.
/// </summary>
public sealed class PrimaryWaitStrategyOptions : ResilienceStrategyOptions
{
    /// <summary>Creates the options with their defaults.</summary>
    public PrimaryWaitStrategyOptions() => Name = "RoutingData.PrimaryWait";

    /// <summary>
    /// Gets or sets how long a command waits for a primary. Null (the default): <see cref="ReplicatedDbOptions.MaxWaitForPrimary"/>;
    /// zero: do not wait.
    /// </summary>
    public TimeSpan? MaxWait { get; set; }
}
