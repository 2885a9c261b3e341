using RoutingData.Testing.Consistency;
using Xunit;

namespace RoutingData.Tests.Consistency;

/// <summary>The checker's judgement on hand-made histories: it must find exactly the violations that are there.</summary>
public sealed class ConsistencyCheckerTests
{
    [Fact]
    public void A_read_older_than_the_sessions_own_write_is_a_read_your_writes_violation()
    {
        var report = Check(Write(1, key: 7, version: 3), Read(1, key: 7, version: 2), Read(1, key: 7, version: 3));

        Assert.Equal(1, report.ReadYourWritesViolations);
        Assert.Equal(0, report.MonotonicReadViolations);
        Assert.Equal(2, report.Reads);
        Assert.Equal(1, report.Writes);
    }

    [Fact]
    public void A_read_older_than_one_already_read_is_a_monotonic_read_violation()
    {
        var report = Check(Read(1, key: 7, version: 5, replica: true), Read(1, key: 7, version: 4, replica: true), Read(1, key: 7, version: 6));

        Assert.Equal(0, report.ReadYourWritesViolations);
        Assert.Equal(1, report.MonotonicReadViolations);
        Assert.Equal(2, report.ReplicaReads);
    }

    [Fact]
    public void Other_sessions_and_other_keys_do_not_count()
    {
        var report = Check(Write(1, key: 7, version: 9), Read(2, key: 7, version: 1), Read(1, key: 8, version: 0), Read(2, key: 7, version: 0));

        Assert.Equal(0, report.ReadYourWritesViolations);
        Assert.Equal(1, report.MonotonicReadViolations); // session 2 read 1, then 0
    }

    [Theory]
    [InlineData(0x3_0000_2018UL, 0x3_0000_2000UL)] // just past a short page header: the boundary
    [InlineData(0x3_0100_0028UL, 0x3_0100_0000UL)] // just past a segment's long header: the boundary
    [InlineData(0x3_0000_2030UL, 0x3_0000_2030UL)] // mid-page: unchanged
    public void An_insert_position_just_past_a_page_header_means_the_page_boundary(ulong insert, ulong expected) =>
        Assert.Equal(expected, RoutingData.Consistency.CaptureTarget.WithoutPageHeader(insert, 8192, 16 * 1024 * 1024));

    private static ConsistencyReport Check(params HistoryEvent[] events) => ConsistencyChecker.Check("test", events, errors: 0, TimeSpan.FromSeconds(1));

    private static HistoryEvent Write(int session, int key, long version) => new(session, true, key, version, "p:1", false, 0, 0);

    private static HistoryEvent Read(int session, int key, long version, bool replica = false) => new(session, false, key, version, replica ? "r:2" : "p:1", replica, 0, 0);
}
