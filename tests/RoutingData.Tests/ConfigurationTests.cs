using Xunit;

namespace RoutingData.Tests;

/// <summary>Bad input fails at Build with one exception naming every problem.</summary>
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("Host=;Username=app", "names no host")]
    [InlineData("Host=a:5432,,b:5432;Username=app", "has an empty entry")]
    [InlineData("Host=a:5432,b:notaport;Username=app", "Host 'b:notaport' has an invalid port 'notaport'")]
    [InlineData("Host=a:70000;Username=app", "Host 'a:70000' has an invalid port '70000'")]
    [InlineData("Host=a:5432,a:5432;Username=app", "Host 'a:5432' is listed twice")]
    [InlineData("Host=a;Usernme=app", "ConnectionString is malformed")]
    [InlineData("", "ConnectionString is empty")]
    public void Bad_connection_strings_are_rejected_naming_the_host(string connectionString, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => new ReplicatedDataSourceBuilder(connectionString).Build());
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_and_the_password_is_never_shown()
    {
        var builder = new ReplicatedDataSourceBuilder("Host=a:5432,b:0;Username=app;Password=pa55word");
        builder.Options.TopologyProbeInterval = TimeSpan.Zero;
        builder.Options.MaxReplicaLag = TimeSpan.FromSeconds(-1);
        builder.Options.ReplicaWeights["c:5432"] = 2;
        builder.Options.DefaultReadPreference = (ReadPreference)42;

        var error = Assert.Throws<ArgumentException>(builder.Build);

        Assert.Contains("Host 'b:0' has an invalid port '0'", error.Message, StringComparison.Ordinal);
        Assert.Contains("TopologyProbeInterval is 00:00:00; it must be positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxReplicaLag -00:00:01 must be positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("ReplicaWeights names host 'c:5432', which is not in the connection string (a:5432)", error.Message, StringComparison.Ordinal);
        Assert.Contains("DefaultReadPreference '42' is not a ReadPreference", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pa55word", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ipv6_and_default_ports_are_understood()
    {
        await using var dataSource = new ReplicatedDataSourceBuilder("Host=[::1]:6000,localhost;Port=6001;Username=app").Build();
        var hosts = dataSource.GetHosts().Select(h => h.Host).ToArray();
        Assert.Equal(["[::1]:6000", "localhost:6001"], hosts);
    }
}
