using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using RoutingData.Testing.Xunit;
using RoutingData.WebSample;
using Xunit;

namespace RoutingData.EntityFrameworkCore.Tests.AspNetCore;

/// <summary>
/// The web sample on Kestrel, on a loopback port, over the cluster whose replicas replay 200 ms late: a write and a read
/// right after it in the next request agree only if the session travelled (header or cookie) and was honoured.
/// </summary>
[Collection(EfClusterGroup.Name)]
public sealed class WebSampleTests(EfClusterFixture fixture) : ClusterTestBase
{
    private const string Header = "RoutingData-Session";
    private static readonly SemaphoreSlim DatabaseGate = new(1, 1);
    private static string? s_connectionString;
    private readonly List<WebApplication> _apps = [];
    private readonly string _keys = Path.Combine(Path.GetTempPath(), "routingdata-keys-" + Guid.NewGuid().ToString("N"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public override async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }

        if (Directory.Exists(_keys))
        {
            Directory.Delete(_keys, recursive: true);
        }

        await base.DisposeAsync();
    }

    [Fact]
    public async Task A_write_is_read_back_in_the_next_request_that_carries_the_header()
    {
        var site = await StartAsync();
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = site };

        var list = await GetJsonAsync(client, "/api/todos");
        Assert.True(list.GetProperty("servedBy").GetProperty("role").GetString() == "Replica", list.ToString());

        var (id, token) = await CreateAsync(client, "header");
        using var read = new HttpRequestMessage(HttpMethod.Get, $"/api/todos/{id}");
        read.Headers.Add(Header, token);
        using var response = await client.SendAsync(read, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_write_is_read_back_in_the_next_request_that_carries_the_cookie()
    {
        var site = await StartAsync();
        using var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = site };
        using var created = await client.PostAsJsonAsync("/api/todos", new { title = "cookie" }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var cookie = Assert.Single(created.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase); // plain HTTP here
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("item").GetProperty("id").GetInt32();

        using var response = await client.GetAsync(new Uri($"/api/todos/{id}", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Two_app_instances_sharing_data_protection_keys_read_each_others_writes()
    {
        var first = await StartAsync($"--DataProtection:KeysPath={_keys}");
        var second = await StartAsync($"--DataProtection:KeysPath={_keys}");
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false });

        var (id, token) = await CreateAsync(client, "shared", first);
        using var read = new HttpRequestMessage(HttpMethod.Get, new Uri(second, $"/api/todos/{id}"));
        read.Headers.Add(Header, token);
        using var response = await client.SendAsync(read, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // An instance with other keys cannot verify the token: rejected (the default) with 400, or ignored — never a 500.
        var stranger = await StartAsync();
        using var foreign = new HttpRequestMessage(HttpMethod.Get, new Uri(stranger, "/api/todos"));
        foreign.Headers.Add(Header, token);
        using var rejected = await client.SendAsync(foreign, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, rejected.StatusCode);
        var lenient = await StartAsync("--RoutingData:InvalidTokenHandling=Ignore");
        using var again = new HttpRequestMessage(HttpMethod.Get, new Uri(lenient, "/api/todos"));
        again.Headers.Add(Header, token);
        using var ignored = await client.SendAsync(again, Ct);
        Assert.Equal(HttpStatusCode.OK, ignored.StatusCode);
    }

    [Fact]
    public async Task A_forged_token_is_ignored_or_rejected_per_InvalidTokenHandling_never_an_error_page()
    {
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false });

        // Ignore: the request runs with a fresh session and leaves the client's cookie alone.
        var lenient = await StartAsync("--RoutingData:InvalidTokenHandling=Ignore");
        using (var forged = new HttpRequestMessage(HttpMethod.Get, new Uri(lenient, "/api/todos")))
        {
            forged.Headers.Add(Header, "CfDJ8forged-token");
            using var response = await client.SendAsync(forged, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("Set-Cookie"));
        }

        // Reject (the default): 400 with a one-line explanation, the cookie removed.
        var strict = await StartAsync();
        using (var forged = new HttpRequestMessage(HttpMethod.Get, new Uri(strict, "/api/todos")))
        {
            forged.Headers.Add("Cookie", $"{Header}=CfDJ8forged-token");
            using var response = await client.SendAsync(forged, Ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(Header + "=;", StringComparison.Ordinal));
        }

        // A genuine token passes the strict instance.
        var (_, genuine) = await CreateAsync(client, "genuine", strict);
        using (var good = new HttpRequestMessage(HttpMethod.Get, new Uri(strict, "/api/todos")))
        {
            good.Headers.Add(Header, genuine);
            using var response = await client.SendAsync(good, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task Endpoint_controller_action_and_entity_attributes_route_the_request()
    {
        var site = await StartAsync();
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = site };
        var (id, _) = await CreateAsync(client, "attributes");

        Assert.Equal(("Primary", "ReadPreference"), ServedBy(await GetJsonAsync(client, $"/api/todos/{id}/fresh")));
        Assert.Equal(("Primary", "Hint"), ServedBy(await GetJsonAsync(client, $"/api/todos/{id}/events")));
        Assert.Equal(("Primary", "ReadPreference"), ServedBy(await GetJsonAsync(client, "/api/stats/exact")));
        Assert.Equal("Replica", ServedBy(await GetJsonAsync(client, "/api/stats")).Role);

        static (string Role, string Reason) ServedBy(JsonElement json) =>
            (json.GetProperty("servedBy").GetProperty("role").GetString()!, json.GetProperty("servedBy").GetProperty("reason").GetString()!);
    }

    [Fact]
    public async Task The_health_check_reports_the_primary_and_replica_lag()
    {
        var site = await StartAsync();
        using var client = new HttpClient { BaseAddress = site };
        using var response = await client.GetAsync(new Uri("/health", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync(Ct));

        // Over the replicas alone there is no primary: unhealthy, each host listed.
        var replicas = new NpgsqlConnectionStringBuilder(fixture.Cluster.ConnectionString)
        {
            Host = string.Join(',', fixture.Cluster.Replicas.Select(r => new NpgsqlConnectionStringBuilder(r.ConnectionString).Host + ":" + new NpgsqlConnectionStringBuilder(r.ConnectionString).Port)),
        };
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton(await EfTestHelpers.CreateDataSourceAsync(replicas.ConnectionString));
        services.AddHealthChecks().AddReplicatedDb();
        await using var provider = services.BuildServiceProvider();
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);
        var entry = report.Entries["replicated-db"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Equal(2, entry.Data.Count);
        await provider.GetRequiredService<ReplicatedDataSource>().DisposeAsync();
    }

    private async Task<Uri> StartAsync(params string[] args)
    {
        UseShared(fixture.Cluster);
        var app = WebSampleApp.Build(await DatabaseAsync(), ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. args]);
        _apps.Add(app);
        await WebSampleApp.EnsureSchemaAsync(app, Ct);
        await app.StartAsync(Ct);
        var address = new Uri(app.Urls.First());

        // A new process knows a replica's lag only once the primary's position history reaches back to it: until the
        // health check says every replica takes reads, reads may go to the primary (LagBound).
        using var client = new HttpClient { BaseAddress = address };
        await EfTestHelpers.WaitUntilAsync(
            async () => await client.GetStringAsync(new Uri("/health", UriKind.Relative), Ct) == "Healthy",
            "the sample's health check to report every replica taking reads");
        return address;
    }

    /// <summary>The sample's own database on the fixture's cluster (its tables apart from the EF tests').</summary>
    private async Task<string> DatabaseAsync()
    {
        await DatabaseGate.WaitAsync(Ct);
        try
        {
            if (s_connectionString is null)
            {
                await fixture.Cluster.Primary.ExecuteAsync("CREATE DATABASE websample", Ct);
                await fixture.Cluster.WaitForReplicasAsync(cancellationToken: Ct);
                s_connectionString = new NpgsqlConnectionStringBuilder(fixture.Cluster.ConnectionString) { Database = "websample" }.ConnectionString;
            }

            return s_connectionString;
        }
        finally
        {
            DatabaseGate.Release();
        }
    }

    private static async Task<(int Id, string Token)> CreateAsync(HttpClient client, string title, Uri? site = null)
    {
        using var created = await client.PostAsJsonAsync(site is null ? new Uri("/api/todos", UriKind.Relative) : new Uri(site, "/api/todos"), new { title }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var token = Assert.Single(created.Headers.GetValues(Header));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("item").GetProperty("id").GetInt32();
        return (id, token);
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
    }
}
