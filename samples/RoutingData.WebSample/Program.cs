// dotnet run --project samples/RoutingData.WebSample -c Release
// Starts a local cluster (a primary and two replicas replaying 500 ms late) unless RoutingData:ConnectionString is set,
// then serves a todo API and a page at http://127.0.0.1:5080 that shows which host served each read.
return await RoutingData.WebSample.WebSampleApp.RunAsync(args);
