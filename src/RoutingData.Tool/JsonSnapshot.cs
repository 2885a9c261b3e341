using System.Text.Json.Serialization;
using RoutingData.Tool.LiveView;

namespace RoutingData.Tool;

/// <summary>What <c>routingdata top --json</c> prints: one snapshot of the cluster. The property names are stable.</summary>
internal sealed record JsonSnapshot(
    [property: JsonPropertyName("connection")] string Connection,
    [property: JsonPropertyName("takenAt")] DateTimeOffset TakenAt,
    [property: JsonPropertyName("trafficMeasure")] string TrafficMeasure,
    [property: JsonPropertyName("hosts")] IReadOnlyList<JsonHost> Hosts)
{
    public static JsonSnapshot From(string connection, DateTimeOffset takenAt, string trafficMeasure, IReadOnlyList<HostRow> rows) =>
        new(connection, takenAt, trafficMeasure, rows.Select(JsonHost.From).ToList());
}

/// <summary>One host in <see cref="JsonSnapshot"/>.</summary>
internal sealed record JsonHost(
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("fenced")] bool Fenced,
    [property: JsonPropertyName("timeline")] int Timeline,
    [property: JsonPropertyName("health")] string Health,
    [property: JsonPropertyName("lagBytes")] long LagBytes,
    [property: JsonPropertyName("replayDelayMs")] double? ReplayDelayMs,
    [property: JsonPropertyName("roundTripMs")] double RoundTripMs,
    [property: JsonPropertyName("takesReads")] bool TakesReads,
    [property: JsonPropertyName("traffic")] double? Traffic,
    [property: JsonPropertyName("share")] double? Share,
    [property: JsonPropertyName("lastError")] string? LastError)
{
    public static JsonHost From(HostRow row)
    {
        var s = row.Status;
        return new JsonHost(
            s.Host,
            s.Role switch { HostRole.Primary => "primary", HostRole.Replica => "replica", _ => "unknown" },
            row.Fenced,
            s.Timeline,
            s.Health switch { HostHealth.Healthy => "healthy", HostHealth.Unhealthy => "unhealthy", _ => "unknown" },
            s.LagBytes,
            s.ReplayDelay is { } delay ? Math.Round(delay.TotalMilliseconds, 1) : null,
            Math.Round(s.RoundTripTime.TotalMilliseconds, 2),
            s.TakesReads,
            row.Traffic is { } rate ? Math.Round(rate, 2) : null,
            row.Share is { } share ? Math.Round(share, 4) : null,
            s.LastError);
    }
}

/// <summary>Serialization without reflection for <see cref="JsonSnapshot"/>.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(JsonSnapshot))]
internal sealed partial class ToolJsonContext : JsonSerializerContext;
