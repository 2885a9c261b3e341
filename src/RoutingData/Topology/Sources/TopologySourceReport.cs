using System.Globalization;
using System.Text;

namespace RoutingData.Topology.Sources;

/// <summary>What one source said at its last answer, and why its latest poll failed if it did. Immutable.</summary>
internal sealed record TopologySourceReport(string Source, IReadOnlyList<TopologyMember> Members, DateTimeOffset AnsweredAt)
{
    /// <summary>Why the latest poll failed; null when it answered.</summary>
    public string? Error { get; init; }

    public bool HasAnswered => AnsweredAt != DateTimeOffset.MinValue;

    /// <summary>The members the source claims lead and run.</summary>
    public IReadOnlyList<TopologyMember> Leaders => Members.Where(m => m.Role == HostRole.Primary && m.IsRunning).ToList();

    public TopologyMember? Find(HostEndpoint endpoint) => Members.FirstOrDefault(m => Matches(m, endpoint));

    public static bool Matches(TopologyMember member, HostEndpoint endpoint) =>
        member.Port == endpoint.Port && string.Equals(member.Host.Trim('[', ']'), endpoint.Host, StringComparison.OrdinalIgnoreCase);

    /// <summary>What the source says of the leader: "the leader is h:p (name, timeline 2)", "there is no leader", …</summary>
    public string DescribeLeader()
    {
        var leaders = Leaders;
        return leaders.Count switch
        {
            0 => "there is no leader",
            1 => "the leader is " + Describe(leaders[0]),
            _ => $"{leaders.Count} members lead: {string.Join(", ", leaders.Select(Describe))}",
        };
    }

    /// <summary>One clause for messages: "Patroni says the leader is …", or that it did not answer and what it said last.</summary>
    public string Describe()
    {
        var text = new StringBuilder(Source);
        if (Error is not null)
        {
            text.Append(" did not answer (").Append(Error).Append(')');
            if (!HasAnswered)
            {
                return text.ToString();
            }

            text.Append(CultureInfo.InvariantCulture, $"; at {AnsweredAt:HH:mm:ss.fff} it said");
        }
        else
        {
            text.Append(" says");
        }

        text.Append(' ').Append(DescribeLeader());
        foreach (var member in Members.Where(m => !m.IsRunning))
        {
            text.Append(CultureInfo.InvariantCulture, $", {Describe(member)} is {member.State ?? "not running"}");
        }

        return text.ToString();
    }

    /// <summary>What the source says of one host, for <see cref="HostStatus.SourceReport"/>.</summary>
    public string DescribeHost(HostEndpoint endpoint)
    {
        if (Find(endpoint) is not { } member)
        {
            return HasAnswered ? $"{Source} does not list it" : $"{Source} has not answered";
        }

        var text = new StringBuilder(Source).Append(": ").Append(member.Role == HostRole.Primary ? "leader" : "replica")
            .Append(", ").Append(member.State ?? (member.IsRunning ? "running" : "not running"));
        if (member.Timeline is { } timeline)
        {
            text.Append(CultureInfo.InvariantCulture, $", timeline {timeline}");
        }

        if (member.LagBytes is { } lag)
        {
            text.Append(CultureInfo.InvariantCulture, $", {lag} bytes behind");
        }

        if (Error is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $" (at {AnsweredAt:HH:mm:ss.fff}; it has not answered since)");
        }

        return text.ToString();
    }

    private static string Describe(TopologyMember member)
    {
        var host = member.Host.Contains(':', StringComparison.Ordinal) ? $"[{member.Host}]" : member.Host;
        var text = string.Create(CultureInfo.InvariantCulture, $"{host}:{member.Port}");
        var details = new List<string>(2);
        if (member.Name is { Length: > 0 } name)
        {
            details.Add(name);
        }

        if (member.Timeline is { } timeline)
        {
            details.Add(string.Create(CultureInfo.InvariantCulture, $"timeline {timeline}"));
        }

        return details.Count == 0 ? text : $"{text} ({string.Join(", ", details)})";
    }
}
