using Npgsql;
using RoutingData.Testing.Faults;
using RoutingData.Testing.Internal;
using RoutingData.Testing.Xunit;
using Xunit;

namespace RoutingData.Testing.Tests;

/// <summary>Clusters with SCRAM-SHA-256 passwords and TLS: clients and replication authenticate, and every fault still works.</summary>
public sealed class SecureClusterTests : ClusterTestBase
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    private static PostgresClusterOptions Secure(int replicas) =>
        new() { Replicas = replicas, Authentication = ClusterAuthentication.ScramSha256, UseTls = true };

    [Fact]
    public async Task Clients_and_standbys_connect_over_tls_with_scram_and_a_wrong_password_is_refused()
    {
        var cluster = await StartDedicatedClusterAsync(Secure(replicas: 1));
        var (primary, replica) = (cluster.Primary, cluster.Replicas[0]);

        // Generated, long, random, and in the connection strings together with server verification.
        Assert.Matches("^[A-Za-z0-9]{32}$", cluster.Password);
        Assert.Matches("^[A-Za-z0-9]{32}$", cluster.ReplicationPassword);
        Assert.NotEqual(cluster.Password, cluster.ReplicationPassword);
        Assert.Equal("replicator", cluster.ReplicationUsername);
        var builder = new NpgsqlConnectionStringBuilder(primary.ConnectionString);
        Assert.Equal(cluster.Password, builder.Password);
        Assert.Equal(SslMode.VerifyFull, builder.SslMode);
        Assert.Equal(cluster.CertificateAuthorityFile, builder.RootCertificate);
        Assert.Contains("BEGIN CERTIFICATE", await File.ReadAllTextAsync(cluster.CertificateAuthorityFile!, _ct), StringComparison.Ordinal);
        Assert.Equal(cluster.Password, new NpgsqlConnectionStringBuilder(cluster.ConnectionString).Password);

        // Every node: this very connection is TLS, and the server verifies SCRAM verifiers.
        foreach (var node in cluster.Nodes)
        {
            await using var connection = new NpgsqlConnection(node.ConnectionString);
            await connection.OpenAsync(_ct);
            await using var command = new NpgsqlCommand("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", connection);
            await using var reader = await command.ExecuteReaderAsync(_ct);
            Assert.True(await reader.ReadAsync(_ct));
            Assert.True(reader.GetBoolean(0), $"{node} reports no SSL for the connection");
            Assert.StartsWith("TLSv1.", reader.GetString(1), StringComparison.Ordinal);
        }

        Assert.Equal("scram-sha-256", await primary.ExecuteScalarAsync<string>("SHOW password_encryption", _ct));
        Assert.Equal(2L, await primary.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM pg_authid WHERE rolname IN ('postgres', 'replicator') AND rolpassword LIKE 'SCRAM-SHA-256$4096:%'", _ct));
        Assert.Equal("replication, not superuser", await primary.ExecuteScalarAsync<string>(
            "SELECT CASE WHEN rolreplication THEN 'replication' ELSE 'no replication' END || ', ' || CASE WHEN rolsuper THEN 'superuser' ELSE 'not superuser' END FROM pg_authid WHERE rolname = 'replicator'", _ct));
        Assert.Equal("hostssl scram-sha-256", await primary.ExecuteScalarAsync<string>(
            "SELECT string_agg(DISTINCT type || ' ' || auth_method, '; ') FROM pg_hba_file_rules", _ct));

        // A wrong password is refused by the server (28P01), and so is a connection without TLS (no hostssl-less line).
        var wrong = new NpgsqlConnectionStringBuilder(primary.ConnectionString) { Password = "not-" + cluster.Password, Pooling = false };
        var refused = await Assert.ThrowsAsync<PostgresException>(() => OpenAndCloseAsync(wrong.ConnectionString));
        Assert.Equal("28P01", refused.SqlState);
        var plain = new NpgsqlConnectionStringBuilder(primary.ConnectionString) { SslMode = SslMode.Disable, Pooling = false };
        var noTls = await Assert.ThrowsAsync<PostgresException>(() => OpenAndCloseAsync(plain.ConnectionString));
        Assert.Equal("28000", noTls.SqlState);
        Assert.Contains("no encryption", noTls.MessageText, StringComparison.Ordinal);

        // The standby streams as the replication role, over TLS, and replays a commit.
        Assert.Equal("replicator/True", await primary.ExecuteScalarAsync<string>(
            "SELECT r.usename || '/' || CASE WHEN s.ssl THEN 'True' ELSE 'False' END FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.application_name = 'pg1' AND r.state = 'streaming'", _ct));
        await primary.ExecuteAsync("CREATE TABLE secured (id int); INSERT INTO secured VALUES (11)", _ct);
        await replica.WaitForReplayAsync(await primary.GetLsnAsync(_ct), Deadline, _ct);
        Assert.Equal(11, await replica.ExecuteScalarAsync<int>("SELECT id FROM secured", _ct));

        // At rest: the key and .pgpass are 0600 and the server user's; no password in any configuration file or leftover.
        var key = Path.Combine(cluster.Directory, "pg0", "data", "server.key");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(cluster.Directory, "pg1", ".pgpass")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(cluster.Directory, "pg1", "data", "server.key")));
        }

        if (ServerUser.RunAsServerUser)
        {
            Assert.Equal("postgres", (await ProcessRunner.RunAsync("stat", ["-c", "%U", key], null, Deadline, _ct)).StandardOutput.Trim());
        }

        Assert.False(File.Exists(Path.Combine(cluster.Directory, "pg0", "initdb.pw")));
        foreach (var file in new[] { "pg0/data/postgresql.conf", "pg0/data/postgresql.auto.conf", "pg1/data/postgresql.conf", "pg1/data/postgresql.auto.conf" })
        {
            var text = await File.ReadAllTextAsync(Path.Combine(cluster.Directory, file), _ct);
            Assert.DoesNotContain(cluster.Password!, text, StringComparison.Ordinal);
            Assert.DoesNotContain(cluster.ReplicationPassword!, text, StringComparison.Ordinal);
        }

        // Node ports come from below the ephemeral range.
        if (FreePorts.ReadEphemeralRange() is { } ephemeral && FreePorts.CandidateRange(ephemeral) is { } range)
        {
            Assert.All(cluster.Nodes, n => Assert.InRange(n.Port, range.Low, range.High));
        }
    }

    [Fact]
    public async Task Every_fault_works_on_a_scram_tls_cluster()
    {
        var cluster = await StartDedicatedClusterAsync(Secure(replicas: 2));
        var oldPrimary = cluster.Primary;
        var (promoted, follower) = (cluster.Replicas[0], cluster.Replicas[1]);
        await oldPrimary.ExecuteAsync("CREATE TABLE f (id int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);

        // Replay delay: the delayed standby shows the row only after replaying it.
        await promoted.SetReplayDelayAsync(TimeSpan.FromMilliseconds(700), _ct);
        await oldPrimary.ExecuteAsync("INSERT INTO f VALUES (1)", _ct);
        Assert.Equal(0L, await promoted.ExecuteScalarAsync<long>("SELECT count(*) FROM f", _ct));
        await promoted.WaitForReplayAsync(await oldPrimary.GetLsnAsync(_ct), Deadline, _ct);
        Assert.Equal(1L, await promoted.ExecuteScalarAsync<long>("SELECT count(*) FROM f", _ct));
        await promoted.SetReplayDelayAsync(TimeSpan.Zero, _ct);

        // A stalled WAL stream holds the follower back until it is resumed.
        await cluster.StallWalStreamAsync(follower, _ct);
        await oldPrimary.ExecuteAsync("INSERT INTO f VALUES (2)", _ct);
        var lsn = await oldPrimary.GetLsnAsync(_ct);
        await Assert.ThrowsAsync<TimeoutException>(() => follower.WaitForReplayAsync(lsn, TimeSpan.FromMilliseconds(500), _ct));
        await cluster.ResumeWalStreamAsync(follower, _ct);
        await follower.WaitForReplayAsync(lsn, Deadline, _ct);

        // The TCP proxy carries TLS (the certificate names 127.0.0.1) and cuts it on demand.
        var proxy = cluster.CreateProxy(oldPrimary);
        var throughProxy = new NpgsqlConnectionStringBuilder(oldPrimary.ConnectionString) { Host = proxy.Address, Port = proxy.Port, Pooling = false }.ConnectionString;
        await using (var connection = new NpgsqlConnection(throughProxy))
        {
            await connection.OpenAsync(_ct);
            await using var command = new NpgsqlCommand("SELECT inet_server_port() || '/' || (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())", connection);
            Assert.Equal($"{oldPrimary.Port}/true", (string?)await command.ExecuteScalarAsync(_ct));
        }

        proxy.SetMode(ProxyMode.Reset);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => OpenAndCloseAsync(throughProxy));

        // Crash, promote, re-point the other standby, then a split brain, then rejoin with pg_rewind.
        await oldPrimary.KillAsync(_ct);
        await cluster.PromoteAsync(promoted, _ct);
        await cluster.RepointAsync(follower, promoted, _ct);
        await promoted.ExecuteAsync("INSERT INTO f VALUES (3)", _ct);
        await follower.WaitForReplayAsync(await promoted.GetLsnAsync(_ct), Deadline, _ct);
        Assert.Equal(3L, await follower.ExecuteScalarAsync<long>("SELECT count(*) FROM f", _ct));

        await cluster.StartAsSplitBrainPrimaryAsync(oldPrimary, _ct);
        Assert.False(await oldPrimary.IsInRecoveryAsync(_ct));
        await oldPrimary.ExecuteAsync("CREATE TABLE diverged (id int)", _ct);

        await cluster.RejoinAsStandbyAsync(oldPrimary, promoted, _ct);
        Assert.True(await oldPrimary.IsInRecoveryAsync(_ct));
        await oldPrimary.WaitForReplayAsync(await promoted.GetLsnAsync(_ct), Deadline, _ct);
        Assert.Equal(3L, await oldPrimary.ExecuteScalarAsync<long>("SELECT count(*) FROM f", _ct));
        Assert.Null(await oldPrimary.ExecuteScalarAsync<string>("SELECT to_regclass('diverged')::text", _ct));
        Assert.Equal(2, await oldPrimary.GetTimelineAsync(_ct));

        // Both standbys of the new primary stream as the replication role over TLS.
        Assert.Equal("pg0 replicator true, pg2 replicator true", await promoted.ExecuteScalarAsync<string>(
            "SELECT string_agg(r.application_name || ' ' || r.usename || ' ' || s.ssl, ', ' ORDER BY r.application_name) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.state = 'streaming'", _ct));
    }

    [Fact]
    public async Task Tls_with_trust_needs_no_password_but_still_refuses_connections_without_tls()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 0, UseTls = true });

        Assert.Null(cluster.Password);
        Assert.True(await cluster.Primary.ExecuteScalarAsync<bool>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", _ct));
        var plain = new NpgsqlConnectionStringBuilder(cluster.Primary.ConnectionString) { SslMode = SslMode.Disable, Pooling = false };
        Assert.Equal("28000", (await Assert.ThrowsAsync<PostgresException>(() => OpenAndCloseAsync(plain.ConnectionString))).SqlState);
    }

    [Fact]
    public async Task Scram_without_tls_authenticates_in_plain_text_connections()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1, Authentication = ClusterAuthentication.ScramSha256 });

        Assert.Null(cluster.CertificateAuthorityFile);
        Assert.False(await cluster.Primary.ExecuteScalarAsync<bool>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", _ct));
        Assert.Equal("host scram-sha-256", await cluster.Primary.ExecuteScalarAsync<string>(
            "SELECT string_agg(DISTINCT type || ' ' || auth_method, '; ') FROM pg_hba_file_rules", _ct));
        Assert.Equal("replicator", await cluster.Primary.ExecuteScalarAsync<string>("SELECT usename::text FROM pg_stat_replication", _ct));
        var wrong = new NpgsqlConnectionStringBuilder(cluster.Replicas[0].ConnectionString) { Password = "wrong", Pooling = false };
        Assert.Equal("28P01", (await Assert.ThrowsAsync<PostgresException>(() => OpenAndCloseAsync(wrong.ConnectionString))).SqlState);
    }

    private async Task OpenAndCloseAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(_ct);
    }
}
