using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace RoutingData.Topology.Sources;

/// <summary>
/// Reads Patroni's REST API (<c>GET /cluster</c>) from the first of its endpoints that answers, starting with the one
/// that answered last. Credentials in an endpoint's user info are sent as HTTP Basic authentication and never appear
/// in a request URI, message or log.
/// </summary>
internal sealed class PatroniTopologySource : ITopologySource, IDisposable
{
    private readonly PatroniEndpoint[] _endpoints;
    private readonly HttpClient _client;
    private readonly TimeSpan _timeout;
    private int _preferred;

    /// <param name="endpoints">Absolute http or https URIs of Patroni's REST API, with or without the <c>/cluster</c> path.</param>
    /// <param name="timeout">How long one endpoint may take to answer.</param>
    /// <param name="handler">The HTTP handler (tests); null for a pooled socket handler.</param>
    public PatroniTopologySource(IEnumerable<Uri> endpoints, TimeSpan timeout, HttpMessageHandler? handler = null)
    {
        _endpoints = endpoints.Select(e => new PatroniEndpoint(e)).ToArray();
        if (_endpoints.Length == 0)
        {
            throw new ArgumentException("At least one Patroni endpoint is needed.", nameof(endpoints));
        }

        _timeout = timeout;
        _client = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = timeout, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) })
        {
            Timeout = Timeout.InfiniteTimeSpan, // Each request has its own deadline.
        };
    }

    public string Name => "Patroni";

    public async ValueTask<IReadOnlyList<TopologyMember>> GetMembersAsync(CancellationToken cancellationToken)
    {
        var start = Volatile.Read(ref _preferred);
        var errors = new StringBuilder();
        for (var i = 0; i < _endpoints.Length; i++)
        {
            var index = (start + i) % _endpoints.Length;
            var endpoint = _endpoints[index];
            try
            {
                var members = await ReadAsync(endpoint, cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _preferred, index);
                return members;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or OperationCanceledException or JsonException or FormatException or IOException)
            {
                var why = e is OperationCanceledException ? string.Create(CultureInfo.InvariantCulture, $"no answer within {_timeout.TotalSeconds:0.###} s") : endpoint.Scrub(e.Message);
                errors.Append(errors.Length == 0 ? string.Empty : "; ").Append(endpoint.Display).Append(": ").Append(why);
            }
        }

        throw new HttpRequestException($"No Patroni endpoint gave a usable answer: {errors}");
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Parses a <c>GET /cluster</c> response: the members with a host and port (others are not servers yet).</summary>
    /// <exception cref="JsonException">Not JSON.</exception>
    /// <exception cref="FormatException">JSON without a <c>members</c> array.</exception>
    internal static List<TopologyMember> Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("members", out var members) || members.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("the answer has no 'members' array (is this Patroni's /cluster endpoint?)");
        }

        var result = new List<TopologyMember>(members.GetArrayLength());
        foreach (var member in members.EnumerateArray())
        {
            if (String(member, "host") is not { Length: > 0 } host || Number(member, "port") is not { } port || port is <= 0 or > 65535)
            {
                continue;
            }

            var state = String(member, "state");
            result.Add(new TopologyMember(host, (int)port, IsLeader(String(member, "role")) ? HostRole.Primary : HostRole.Replica)
            {
                Name = String(member, "name"),
                State = state,
                IsRunning = state is "running" or "streaming" or "in archive recovery",
                Timeline = Number(member, "timeline") is { } timeline and <= int.MaxValue ? (int)timeline : null,
                LagBytes = Number(member, "lag"), // "unknown" (a string) when Patroni cannot tell.
            });
        }

        return result;
    }

    // A standby cluster's "standby_leader" is in recovery: not a primary.
    private static bool IsLeader(string? role) => role is "leader" or "master" or "primary";

    private static string? String(JsonElement member, string name) =>
        member.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? Number(JsonElement member, string name) =>
        member.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    private async Task<List<TopologyMember>> ReadAsync(PatroniEndpoint endpoint, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, endpoint.ClusterUri);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (endpoint.Authorization is { } authorization)
        {
            request.Headers.Authorization = authorization;
        }

        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}"));
        }

        var stream = await response.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var document = await JsonDocument.ParseAsync(stream, cancellationToken: deadline.Token).ConfigureAwait(false);
            return Parse(document.RootElement);
        }
    }
}
