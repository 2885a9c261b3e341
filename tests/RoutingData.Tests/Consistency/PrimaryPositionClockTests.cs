using Microsoft.Extensions.Logging.Abstractions;
using RoutingData.Consistency;
using Xunit;

namespace RoutingData.Tests.Consistency;

/// <summary>
/// The clock's core rule without a server: a command acknowledged at time t is covered only by a reading whose query
/// started after t — and by the first such reading, not the latest (which would run ahead of every replica).
/// </summary>
public sealed class PrimaryPositionClockTests
{
    [Fact]
    public async Task A_command_resolves_to_the_first_reading_that_started_after_it()
    {
        await using var clock = NewClock();
        clock.Publish(startedAt: 10, lsn: 100, systemIdentifier: 7);
        clock.Publish(startedAt: 20, lsn: 200, systemIdentifier: 7);
        clock.Publish(startedAt: 30, lsn: 300, systemIdentifier: 7);

        Assert.True(clock.TryResolve(15, out var lsn, out var systemIdentifier));
        Assert.Equal((200UL, 7UL), (lsn, systemIdentifier));
        Assert.True(clock.TryResolve(5, out lsn, out _));
        Assert.Equal(100UL, lsn);

        // Acknowledged exactly when a reading started, or after the last one: not covered (the reading may predate the commit).
        Assert.False(clock.TryResolve(30, out _, out _));
        Assert.False(clock.TryResolve(20, out lsn, out _) && lsn == 200);
        Assert.False(clock.TryResolve(31, out _, out _));
    }

    [Fact]
    public async Task Past_the_ring_a_command_resolves_to_the_oldest_kept_reading_still_after_it()
    {
        await using var clock = NewClock();
        for (var i = 1; i <= 3000; i++)
        {
            clock.Publish(startedAt: i * 10, lsn: (ulong)i * 100, systemIdentifier: 7);
        }

        // Readings 1..1976 are overwritten; the oldest kept one (started at 19770) still started after t = 5.
        Assert.True(clock.TryResolve(5, out var lsn, out _));
        Assert.Equal(197_700UL, lsn);
        Assert.True(clock.TryResolve(29_995, out lsn, out _));
        Assert.Equal(300_000UL, lsn);
    }

    [Fact]
    public async Task Nothing_resolves_before_the_first_reading()
    {
        await using var clock = NewClock();
        Assert.False(clock.TryResolve(0, out _, out _));
        Assert.Equal(0, clock.Captures);
    }

    [Fact]
    public async Task A_reading_that_started_before_the_newest_one_is_not_published()
    {
        // An export's capture and the loop's can finish in either order; the ring stays in start order.
        await using var clock = NewClock();
        clock.Publish(startedAt: 30, lsn: 300, systemIdentifier: 7);
        clock.Publish(startedAt: 20, lsn: 200, systemIdentifier: 7);

        Assert.True(clock.TryResolve(15, out var lsn, out _));
        Assert.Equal(300UL, lsn);
        Assert.True(clock.TryResolve(25, out lsn, out _));
        Assert.Equal(300UL, lsn);
    }

    private static PrimaryPositionClock NewClock() =>
        new(() => throw new InvalidOperationException("no snapshot in this test"), TimeSpan.FromMilliseconds(2), TimeSpan.FromSeconds(1), TimeProvider.System, NullLogger.Instance);
}
