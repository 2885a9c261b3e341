using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using RoutingData.DependencyInjection;
using RoutingData.Topology.Sources;
using Xunit;

namespace RoutingData.Tests.Topology;

/// <summary>Reading Patroni's <c>GET /cluster</c>: parsing, trying the next endpoint, and credentials that never show.</summary>
public sealed class PatroniTopologySourceTests
{
    // GET /cluster from the test harness's Patroni 3.0.2 cluster after two failovers (timeline 3).
    private const string Captured = """
        {"members": [{"name": "pat0", "role": "replica", "state": "running", "api_url": "http://127.0.0.1:31830/patroni", "host": "127.0.0.1", "port": 28121, "timeline": 3, "lag": 0}, {"name": "pat1", "role": "replica", "state": "running", "api_url": "http://127.0.0.1:26410/patroni", "host": "127.0.0.1", "port": 22012, "timeline": 3, "lag": 0}, {"name": "pat2", "role": "leader", "state": "running", "api_url": "http://127.0.0.1:28842/patroni", "host": "127.0.0.1", "port": 27215, "timeline": 3}]}
        """;

    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public void Parse_reads_a_captured_Patroni_3_cluster_response()
    {
        var members = Parse(Captured);

        Assert.Equal(
            [
                new TopologyMember("127.0.0.1", 28121, HostRole.Replica) { Name = "pat0", State = "running", Timeline = 3, LagBytes = 0 },
                new TopologyMember("127.0.0.1", 22012, HostRole.Replica) { Name = "pat1", State = "running", Timeline = 3, LagBytes = 0 },
                new TopologyMember("127.0.0.1", 27215, HostRole.Primary) { Name = "pat2", State = "running", Timeline = 3 },
            ],
            members);
        var report = new TopologySourceReport("Patroni", members, DateTimeOffset.UnixEpoch);
        Assert.Equal("Patroni says the leader is 127.0.0.1:27215 (pat2, timeline 3)", report.Describe());
    }

    [Fact]
    public void Parse_understands_unknown_lag_stopped_members_standby_leaders_and_members_without_a_server()
    {
        var members = Parse("""
            {"scope": "x", "members": [
              {"name": "a", "role": "master", "state": "running", "host": "10.0.0.1", "port": 5432, "timeline": 7},
              {"name": "b", "role": "sync_standby", "state": "streaming", "host": "10.0.0.2", "port": 5432, "timeline": 7, "lag": 1024},
              {"name": "c", "role": "replica", "state": "stopped", "host": "10.0.0.3", "port": 5432, "lag": "unknown"},
              {"name": "d", "role": "standby_leader", "state": "running", "host": "10.0.0.4", "port": 5432},
              {"name": "e", "role": "uninitialized", "state": "creating replica"},
              {"name": "f", "role": "replica", "state": "running", "host": "10.0.0.6", "port": "not a number"}
            ]}
            """);

        Assert.Equal(["a", "b", "c", "d"], members.Select(m => m.Name));
        Assert.Equal([HostRole.Primary, HostRole.Replica, HostRole.Replica, HostRole.Replica], members.Select(m => m.Role));
        Assert.Equal([true, true, false, true], members.Select(m => m.IsRunning));
        Assert.Equal([null, 1024L, null, null], members.Select(m => m.LagBytes));
        Assert.Equal(
            "Patroni says the leader is 10.0.0.1:5432 (a, timeline 7), 10.0.0.3:5432 (c) is stopped",
            new TopologySourceReport("Patroni", members, DateTimeOffset.UnixEpoch).Describe());
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{\"state\": \"running\", \"role\": \"primary\"}")]
    public void Parse_refuses_an_answer_that_is_not_a_cluster(string json)
    {
        var error = Assert.Throws<FormatException>(() => Parse(json));
        Assert.Contains("no 'members' array", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://db1:8008", "http://db1:8008/cluster")]
    [InlineData("http://db1:8008/", "http://db1:8008/cluster")]
    [InlineData("https://db1:8008/cluster", "https://db1:8008/cluster")]
    [InlineData("http://user:pw@lb.internal/patroni/?x=1", "http://lb.internal/patroni/cluster")]
    public void The_cluster_path_is_added_once_and_user_info_is_left_out(string configured, string requested)
    {
        var endpoint = new PatroniEndpoint(new Uri(configured));
        Assert.Equal(requested, endpoint.ClusterUri.ToString());
        Assert.Equal(requested, endpoint.Display);
    }

    [Fact]
    public async Task The_next_endpoint_is_tried_and_the_one_that_answered_is_asked_first_next_time()
    {
        var asked = new List<string>();
        using var source = new PatroniTopologySource(
            [new Uri("http://a:8008"), new Uri("http://b:8008"), new Uri("http://c:8008")],
            TimeSpan.FromSeconds(1),
            new StubHandler(request =>
            {
                asked.Add(request.RequestUri!.Host);
                return request.RequestUri.Host == "a" ? throw new HttpRequestException("Connection refused (a:8008)") : Json(Captured);
            }));

        Assert.Equal(3, (await source.GetMembersAsync(_ct)).Count);
        Assert.Equal(3, (await source.GetMembersAsync(_ct)).Count);
        Assert.Equal(["a", "b", "b"], asked);
    }

    [Fact]
    public async Task Every_endpoint_failing_names_each_and_its_error_but_never_the_credentials()
    {
        var authorizations = new List<string?>();
        var requested = new List<Uri>();
        using var source = new PatroniTopologySource(
            [new Uri("http://patroni:S3cr%40tPw@a:8008"), new Uri("http://b:8008"), new Uri("http://c:8008"), new Uri("http://d:8008")],
            TimeSpan.FromMilliseconds(200),
            new StubHandler(async (request, ct) =>
            {
                authorizations.Add(request.Headers.Authorization?.ToString());
                requested.Add(request.RequestUri!);
                switch (request.RequestUri!.Host)
                {
                    case "a":
                        return new HttpResponseMessage(HttpStatusCode.Unauthorized) { ReasonPhrase = "Unauthorized for patroni:S3cr@tPw" };
                    case "b":
                        return Json("{\"members\": [");
                    case "c":
                        await Task.Delay(Timeout.Infinite, ct);
                        return Json(Captured);
                    default:
                        return Json("{\"role\": \"replica\"}");
                }
            }));

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => source.GetMembersAsync(_ct).AsTask());

        Assert.StartsWith("No Patroni endpoint gave a usable answer: http://a:8008/cluster: HTTP 401 Unauthorized for ***; http://b:8008/cluster: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("http://c:8008/cluster: no answer within 0.2 s; http://d:8008/cluster: the answer has no 'members' array", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("S3cr", error.Message, StringComparison.Ordinal);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("patroni:S3cr@tPw")), authorizations[0]);
        Assert.Equal([null, null, null], authorizations.Skip(1));
        Assert.All(requested, uri => Assert.Empty(uri.UserInfo));
    }

    [Fact]
    public void Bad_endpoints_and_poll_intervals_are_named_by_setting_without_their_credentials()
    {
        var builder = new ReplicatedDataSourceBuilder("Host=a:5432,b:5432;Username=app");
        builder.Options.PatroniEndpoints.Add(new Uri("ftp://admin:Pa55w0rd@db1:8008/"));
        builder.Options.PatroniEndpoints.Add(new Uri("admin:Pa55w0rd@db1:8008", UriKind.RelativeOrAbsolute));
        builder.Options.PatroniEndpoints.Add(new Uri("http://db1:8008"));
        builder.Options.TopologySourcePollInterval = TimeSpan.Zero;

        var error = Assert.Throws<ArgumentException>(builder.Build);

        Assert.Contains("PatroniEndpoints[0] is not an absolute http:// or https:// URI with a host (e.g. http://db1:8008).", error.Message, StringComparison.Ordinal);
        Assert.Contains("PatroniEndpoints[1] is not an absolute http:// or https:// URI", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PatroniEndpoints[2]", error.Message, StringComparison.Ordinal);
        Assert.Contains("TopologySourcePollInterval is 00:00:00; it must be positive.", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Pa55w0rd", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Patroni_endpoints_and_the_poll_interval_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionString"] = "Host=a,b;Username=app",
            ["PatroniEndpoints:0"] = "http://db1:8008",
            ["PatroniEndpoints:1"] = "https://user:pw@db2:8008/",
            ["TopologySourcePollInterval"] = "00:00:00.250",
        }).Build();
        var options = new ReplicatedDbOptions();

        ReplicatedDbOptionsBinder.Bind(configuration, options);

        Assert.Empty(options.BindingProblems);
        Assert.Equal([new Uri("http://db1:8008"), new Uri("https://user:pw@db2:8008/")], options.PatroniEndpoints);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.TopologySourcePollInterval);
        Assert.Equal(options.PatroniEndpoints, options.Clone().PatroniEndpoints);
    }

    private static List<TopologyMember> Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return PatroniTopologySource.Parse(document.RootElement);
    }

    private static HttpResponseMessage Json(string json) =>
        new(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private sealed class StubHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer) : HttpMessageHandler
    {
        public StubHandler(Func<HttpRequestMessage, HttpResponseMessage> answer)
            : this((request, _) => Task.FromResult(answer(request)))
        {
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => answer(request, cancellationToken);
    }
}
