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

    [Fact]
    public void Bad_capture_settings_are_rejected_by_name()
    {
        var builder = new ReplicatedDataSourceBuilder("Host=a:5432;Username=app");
        builder.Options.LsnCapture = (LsnCaptureMode)7;
        builder.Options.LsnCaptureInterval = TimeSpan.FromSeconds(2);
        builder.Options.LostWritesPolicy = (LostWritesPolicy)3;

        var error = Assert.Throws<ArgumentException>(builder.Build);

        Assert.Contains("LostWritesPolicy '3' is not a LostWritesPolicy (Throw, Ignore)", error.Message, StringComparison.Ordinal);
        Assert.Contains("LsnCapture '7' is not an LsnCaptureMode (Background, SameRoundTrip)", error.Message, StringComparison.Ordinal);
        Assert.Contains("LsnCaptureInterval is 00:00:02; it must be between 0 and 1 second", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_built_data_source_keeps_every_option_it_was_given()
    {
        // Clone copies options one by one: a new option it forgot would silently fall back to its default.
        var options = new ReplicatedDbOptions();
        foreach (var property in typeof(ReplicatedDbOptions).GetProperties().Where(p => p.CanWrite))
        {
            property.SetValue(options, Different(property.GetValue(options), property.PropertyType));
        }

        var clone = options.Clone();
        foreach (var property in typeof(ReplicatedDbOptions).GetProperties().Where(p => p.CanWrite))
        {
            Assert.True(Equals(property.GetValue(options), property.GetValue(clone)), $"Clone() does not copy {property.Name}");
        }
    }

    private static object? Different(object? value, Type type) => value switch
    {
        bool b => !b,
        TimeSpan t => t + TimeSpan.FromSeconds(3),
        int i => i + 3,
        long l => l + 3,
        double d => d / 2,
        string s => s + "x",
        Enum e => Enum.GetValues(type).Cast<object>().First(v => !v.Equals(e)),
        null when type == typeof(string) => "set",
        null when Nullable.GetUnderlyingType(type) == typeof(TimeSpan) => TimeSpan.FromSeconds(3),
        null when Nullable.GetUnderlyingType(type) == typeof(long) => 3L,
        null when Nullable.GetUnderlyingType(type) == typeof(int) => 3,
        _ => throw new InvalidOperationException($"Teach this test a different value for {type}"),
    };
}
