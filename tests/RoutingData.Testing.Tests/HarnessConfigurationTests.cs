using RoutingData.Testing.Backends;
using Xunit;

namespace RoutingData.Testing.Tests;

public sealed class HarnessConfigurationTests
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Binaries_are_found_on_this_machine()
    {
        var folder = await PostgresBinaries.GetDefaultAsync();
        Assert.True(File.Exists(Path.Combine(folder, "initdb")), folder);
        Assert.True(File.Exists(Path.Combine(folder, "pg_rewind")), folder);
    }

    [Fact]
    public async Task No_binaries_anywhere_gives_an_exception_that_says_how_to_install_them()
    {
        var error = await Assert.ThrowsAsync<PostgresBinariesNotFoundException>(
            () => PostgresBinaries.LocateAsync(null, string.Empty, "pg_config_that_does_not_exist", "/nonexistent/postgresql", _ct));

        Assert.Contains("apt-get install -y postgresql", error.Message, StringComparison.Ordinal);
        Assert.Contains("ROUTINGDATA_PG_BIN", error.Message, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/postgresql/*/bin", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_explicit_folder_is_an_error_naming_it()
    {
        var error = await Assert.ThrowsAsync<PostgresBinariesNotFoundException>(
            () => PostgresCluster.StartAsync(new PostgresClusterOptions { BinDirectory = "/nonexistent/pg/bin" }, _ct));

        Assert.Contains("/nonexistent/pg/bin", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1, 0, "Replicas is -1")]
    [InlineData(17, 0, "Replicas is 17")]
    [InlineData(1, 2, "SynchronousReplicas is 2; it must be between 0 and Replicas (1)")]
    public async Task Invalid_options_are_rejected_with_the_value(int replicas, int synchronous, string expected)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(
            () => PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = replicas, SynchronousReplicas = synchronous }, _ct));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_setting_name_that_is_not_an_identifier_is_rejected()
    {
        var options = new PostgresClusterOptions();
        options.ServerSettings["work_mem'; DROP"] = "4MB";

        var error = await Assert.ThrowsAsync<ArgumentException>(() => PostgresCluster.StartAsync(options, _ct));
        Assert.Contains("invalid setting name", error.Message, StringComparison.Ordinal);
    }
}
