using RoutingData.Testing;

// Usage: RoutingData.Testing.ClusterHost <cluster root folder>
// Starts a primary and one replica under the given root, prints "READY <cluster folder>", then waits forever.
var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 1, RootDirectory = args[0] });
Console.WriteLine($"READY {cluster.Directory}");
await Task.Delay(Timeout.Infinite);
