using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace RoutingData.EntityFrameworkCore;

/// <summary>
/// An EF Core execution strategy that retries a whole unit of work (a <c>SaveChanges</c>, a transaction run through
/// <c>strategy.ExecuteAsync</c>) only when RoutingData says nothing of it committed: a <see cref="TransactionRolledBackException"/>,
/// a <see cref="NoSuitableHostException"/> (no primary came back within <see cref="ReplicatedDbOptions.MaxWaitForPrimary"/>)
/// or a transient <see cref="NpgsqlException"/>. A <see cref="CommandOutcomeUnknownException"/> is never retried: the
/// write may have committed. Reads need no strategy: RoutingData re-runs a read whose replica failed by itself.
/// </summary>
/// <example>
/// <code>
/// options.UseReplicatedDb(dataSource, npgsql => npgsql.ExecutionStrategy(dependencies => new ReplicatedDbExecutionStrategy(dependencies)));
/// </code>
/// </example>
public sealed class ReplicatedDbExecutionStrategy : ExecutionStrategy
{
    private const int DefaultRetryCount = 3;

    /// <summary>Creates the strategy with 3 retries and at most 2 seconds between them.</summary>
    /// <param name="dependencies">EF Core's dependencies for execution strategies.</param>
    public ReplicatedDbExecutionStrategy(ExecutionStrategyDependencies dependencies)
        : this(dependencies, DefaultRetryCount, TimeSpan.FromSeconds(2))
    {
    }

    /// <summary>Creates the strategy.</summary>
    /// <param name="dependencies">EF Core's dependencies for execution strategies.</param>
    /// <param name="maxRetryCount">How often a unit of work is run again at most.</param>
    /// <param name="maxRetryDelay">The longest wait between two runs (the delay grows exponentially up to it).</param>
    public ReplicatedDbExecutionStrategy(ExecutionStrategyDependencies dependencies, int maxRetryCount, TimeSpan maxRetryDelay)
        : base(dependencies, maxRetryCount, maxRetryDelay)
    {
    }

    /// <summary>Whether a failed unit of work may run again: only when nothing of it can have committed.</summary>
    /// <param name="exception">The failure (EF Core unwraps <c>DbUpdateException</c>s before asking).</param>
    /// <returns>True to retry.</returns>
    protected override bool ShouldRetryOn(Exception exception) => exception switch
    {
        CommandOutcomeUnknownException => false,
        TransactionRolledBackException => true,
        NoSuitableHostException => true,
        NpgsqlException { IsTransient: true } => true,
        _ => false,
    };
}
