using Npgsql;
using NpgsqlTypes;
using RoutingData.Topology;
using Xunit;

namespace RoutingData.Tests.Topology;

/// <summary>Timeline history files and what the snapshot makes of them, without a server.</summary>
public sealed class TimelineHistoryTests
{
    private static readonly NpgsqlDataSource Unused = NpgsqlDataSource.Create("Host=unused.invalid");

    [Fact]
    public void Each_line_gives_where_the_history_left_a_parent_timeline()
    {
        // As PostgreSQL 15 writes 00000003.history: the parent's lines first, a blank line between promotions.
        var history = TimelineHistory.Parse(3, "1\t0/3000158\tno recovery target specified\n\n2\t0/50000A0\tno recovery target specified\n");

        Assert.Null(history.Problem);
        Assert.Equal(0x3000158UL, history.ForkPoint(1));
        Assert.Equal(0x50000A0UL, history.ForkPoint(2));
        Assert.Null(history.ForkPoint(3));
        Assert.Null(history.ForkPoint(4));
        Assert.Contains("timeline 4 is not in the history of timeline 3", history.WhyUnknown(4), StringComparison.Ordinal);
    }

    [Fact]
    public void Comments_and_reasons_with_spaces_are_skipped()
    {
        var history = TimelineHistory.Parse(2, "# written by hand\n1\t1/0\tbefore 2026-01-01 00:00:00+00\n");
        Assert.Equal(0x1_0000_0000UL, history.ForkPoint(1));
    }

    [Theory]
    [InlineData("1\tnot-an-lsn\treason\n", "line 1")]
    [InlineData("\nx\t0/1\treason\n", "line 2")]
    [InlineData("2\t0/1\treason\n", "line 1")] // A parent must be older than the timeline itself.
    [InlineData("0\t0/1\treason\n", "line 1")]
    [InlineData("1\n", "line 1")]
    public void A_file_that_does_not_parse_leaves_every_fork_point_unknown(string text, string where)
    {
        var history = TimelineHistory.Parse(2, text);
        Assert.Null(history.ForkPoint(1));
        Assert.Contains(where, history.Problem, StringComparison.Ordinal);
        Assert.Contains("pg_wal/00000002.history", history.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void File_names_are_eight_hex_digits()
    {
        Assert.Equal("pg_wal/00000002.history", TimelineHistory.FileName(2));
        Assert.Equal("pg_wal/0000001A.history", TimelineHistory.FileName(26));
    }

    [Fact]
    public void The_snapshot_knows_fork_points_only_from_the_newest_timelines_history()
    {
        var options = new ReplicatedDbOptions();
        var hosts = new[] { State(0, inRecovery: false, timeline: 2), State(1, inRecovery: true, timeline: 2) };
        var history = TimelineHistory.Parse(2, "1\t0/3000158\tno recovery target specified\n");

        var snapshot = ClusterSnapshot.Create(hosts, options, timelines: history);
        Assert.Equal(0x3000158UL, snapshot.ForkPoint(1));

        // Another timeline's history says nothing about this one's ancestors.
        Assert.Null(ClusterSnapshot.Create(hosts, options, timelines: TimelineHistory.Root(1)).Timelines);
        Assert.Null(ClusterSnapshot.Create(hosts, options, timelines: TimelineHistory.Parse(3, "1\t0/1\tx\n2\t0/2\tx\n")).ForkPoint(1));

        // Kept while the primary misses a probe, as long as no newer timeline was seen.
        var missing = new[] { hosts[0] with { Health = HostHealth.Unhealthy }, hosts[1] };
        Assert.Equal(0x3000158UL, ClusterSnapshot.Create(missing, options, fencedBelowTimeline: 2, timelines: history).ForkPoint(1));
    }

    [Fact]
    public void Only_standbys_on_the_primarys_timeline_take_reads()
    {
        var options = new ReplicatedDbOptions();
        var primary = State(0, inRecovery: false, timeline: 2);
        var older = State(1, inRecovery: true, timeline: 1);
        var same = State(2, inRecovery: true, timeline: 2);

        // A standby on a newer timeline follows a primary this snapshot has not seen: its LSNs are not comparable either.
        var newer = State(3, inRecovery: true, timeline: 3);
        var snapshot = ClusterSnapshot.Create([primary, older, same, newer], options);

        Assert.Equal([same], snapshot.EligibleReplicas);
        Assert.Contains(older, snapshot.LaggingReplicas);
        Assert.Contains(newer, snapshot.LaggingReplicas);

        // While the primary misses a probe, the newest primary timeline seen still decides.
        var noPrimary = ClusterSnapshot.Create([primary with { Health = HostHealth.Unhealthy }, older, same, newer], options, fencedBelowTimeline: 2);
        Assert.Equal([same], noPrimary.EligibleReplicas);
    }

    private static HostState State(int index, bool inRecovery, int timeline) => new()
    {
        Host = new HostRuntime(index, new HostEndpoint("h" + index, 5432), Unused, Unused, 1),
        Health = HostHealth.Healthy,
        IsInRecovery = inRecovery,
        Timeline = timeline,
        Lsn = new NpgsqlLogSequenceNumber(0x4000000),
    };
}
