using System.ComponentModel.DataAnnotations;
using Polly;

namespace RoutingData;

/// <summary>
/// Options of the reroute strategy, the one place that decides which failed commands run again and where. Only what
/// provably did nothing, or only read, runs again: a command whose host could not be reached (nothing was sent),
/// a read a standby refused or a replica turned out to be behind for (nothing ran / nothing was returned), a read
/// cancelled by a recovery conflict, a read outside a transaction that lost its connection. Never a write, a COMMIT
/// or anything in a transaction once it was sent: those end in a typed outcome
/// (<see cref="CommandOutcomeUnknownException"/>, <see cref="TransactionRolledBackException"/>).
/// </summary>
public sealed class RerouteStrategyOptions : ResilienceStrategyOptions
{
    /// <summary>Creates the options with their defaults.</summary>
    public RerouteStrategyOptions() => Name = "RoutingData.Reroute";

    /// <summary>Gets or sets how many times one command may move on because its host could not be reached. Default 3.</summary>
    [Range(0, 100)]
    public int MaxUnreachableReroutes { get; set; } = 3;

    /// <summary>Gets or sets whether a read outside a transaction that lost its connection runs once more on another host. Default true.</summary>
    public bool RetryReadsOnConnectionLoss { get; set; } = true;

    /// <summary>Gets or sets whether a read a replica cancelled for a recovery conflict runs once more on another host. Default true.</summary>
    public bool RetryRecoveryConflicts { get; set; } = true;

    /// <summary>Gets or sets a callback invoked before a command runs again elsewhere (also reported to Polly's telemetry as <c>OnReroute</c>).</summary>
    public Func<OnRerouteArguments, ValueTask>? OnReroute { get; set; }
}
