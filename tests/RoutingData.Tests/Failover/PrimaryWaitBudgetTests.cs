using RoutingData.Resilience;
using Xunit;

namespace RoutingData.Tests.Failover;

/// <summary>
/// A command can wait for a primary in several places (before its first attempt, after a failed one, in each reroute):
/// together they wait at most <see cref="ReplicatedDbOptions.MaxWaitForPrimary"/>, not that long each.
/// </summary>
public sealed class PrimaryWaitBudgetTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    [Fact]
    public void Every_wait_of_one_command_draws_on_one_bound_counted_from_its_first_wait()
    {
        var clock = new ManualClock();
        var attempt = CommandAttempt.Rent();
        try
        {
            Assert.False(attempt.PrimaryWaitExhausted(clock));
            Assert.Equal(Bound, attempt.PrimaryWaitLeft(Bound, clock));

            // A second wait (a reroute after the primary it found refused the connection) gets what is left.
            clock.Advance(TimeSpan.FromSeconds(2));
            Assert.Equal(TimeSpan.FromSeconds(3), attempt.PrimaryWaitLeft(Bound, clock));
            Assert.False(attempt.PrimaryWaitExhausted(clock));

            // A later wait with another bound (a reroute bounded by MaxWaitForPrimary after a strategy's own MaxWait)
            // still draws on the first one.
            Assert.Equal(TimeSpan.FromSeconds(3), attempt.PrimaryWaitLeft(TimeSpan.FromSeconds(30), clock));

            clock.Advance(TimeSpan.FromSeconds(4));
            Assert.Equal(TimeSpan.Zero, attempt.PrimaryWaitLeft(Bound, clock));
            Assert.True(attempt.PrimaryWaitExhausted(clock));
        }
        finally
        {
            attempt.Return();
        }

        // The thread's next command reuses the attempt, with the whole bound again.
        var next = CommandAttempt.Rent();
        try
        {
            Assert.Same(attempt, next);
            Assert.False(next.PrimaryWaitExhausted(clock));
            Assert.Equal(Bound, next.PrimaryWaitLeft(Bound, clock));
        }
        finally
        {
            next.Return();
        }
    }

    [Fact]
    public void A_zero_bound_leaves_nothing_to_wait_and_counts_as_spent_once_used()
    {
        var clock = new ManualClock();
        var attempt = CommandAttempt.Rent();
        try
        {
            Assert.Equal(TimeSpan.Zero, attempt.PrimaryWaitLeft(TimeSpan.Zero, clock));
            Assert.True(attempt.PrimaryWaitExhausted(clock));
        }
        finally
        {
            attempt.Return();
        }
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
