using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;
using RoutingData.Internal;
using RoutingData.Topology;

namespace RoutingData;

/// <summary>Checks <see cref="ReplicatedDbOptions"/> as a whole; every message names the setting, the value and the host.</summary>
internal sealed class ReplicatedDbOptionsValidator : IValidateOptions<ReplicatedDbOptions>
{
    public ValidateOptionsResult Validate(string? name, ReplicatedDbOptions options)
    {
        var problems = Validate(options, out _, out _);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public static List<string> Validate(ReplicatedDbOptions options, out NpgsqlConnectionStringBuilder? template, out List<HostEndpoint> hosts)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>(options.BindingProblems);
        template = null;
        hosts = [];

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            problems.Add("ConnectionString is empty: give a connection string naming every host (Host=a:5432,b:5432;Username=…).");
        }
        else
        {
            try
            {
                template = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            }
            catch (ArgumentException e)
            {
                // Npgsql's message names the bad keyword, never the password.
                problems.Add($"ConnectionString is malformed: {e.Message}");
            }

            if (template is not null)
            {
                hosts = HostListParser.Parse(template, problems);
            }
        }

        if (!Enum.IsDefined(options.DefaultReadPreference))
        {
            problems.Add($"DefaultReadPreference '{options.DefaultReadPreference}' is not a ReadPreference ({string.Join(", ", Enum.GetNames<ReadPreference>())}).");
        }

        if (!Enum.IsDefined(options.LoadBalancing))
        {
            problems.Add($"LoadBalancing '{options.LoadBalancing}' is not a LoadBalancingStrategy ({string.Join(", ", Enum.GetNames<LoadBalancingStrategy>())}).");
        }

        Positive(problems, nameof(options.TopologyProbeInterval), options.TopologyProbeInterval);
        Positive(problems, nameof(options.TopologyProbeTimeout), options.TopologyProbeTimeout);
        Positive(problems, nameof(options.MaxProbeBackoff), options.MaxProbeBackoff);
        Positive(problems, nameof(options.FailoverProbeInterval), options.FailoverProbeInterval);
        Positive(problems, nameof(options.FailoverProbingWindow), options.FailoverProbingWindow);
        if (options.MaxWaitForPrimary < TimeSpan.Zero)
        {
            problems.Add($"MaxWaitForPrimary {options.MaxWaitForPrimary} must not be negative (zero: fail at once).");
        }
        Positive(problems, nameof(options.InitialTopologyTimeout), options.InitialTopologyTimeout);
        Positive(problems, nameof(options.FunctionCatalogRefreshInterval), options.FunctionCatalogRefreshInterval);
        Positive(problems, nameof(options.TopologySourcePollInterval), options.TopologySourcePollInterval);
        for (var i = 0; i < options.PatroniEndpoints.Count; i++)
        {
            // The value itself is not echoed: one that does not parse may still carry a password.
            if (!Topology.Sources.PatroniEndpoint.IsUsable(options.PatroniEndpoints[i]))
            {
                problems.Add($"PatroniEndpoints[{i}] is not an absolute http:// or https:// URI with a host (e.g. http://db1:8008).");
            }
        }
        if (options.MaxProbeBackoff < options.TopologyProbeInterval && options.MaxProbeBackoff > TimeSpan.Zero)
        {
            problems.Add($"MaxProbeBackoff {options.MaxProbeBackoff} is shorter than TopologyProbeInterval {options.TopologyProbeInterval}.");
        }

        if (options.MaxReplicaLag is { } lag && lag <= TimeSpan.Zero)
        {
            problems.Add($"MaxReplicaLag {lag} must be positive (or null for no time bound).");
        }

        if (options.MaxReplicaLagBytes is { } bytes && bytes <= 0)
        {
            problems.Add($"MaxReplicaLagBytes {bytes} must be positive (or null for no byte bound).");
        }

        if (!(options.LagReadmitFraction > 0 && options.LagReadmitFraction <= 1))
        {
            problems.Add($"LagReadmitFraction {options.LagReadmitFraction.ToString(CultureInfo.InvariantCulture)} must be more than 0 and at most 1 (1: no hysteresis).");
        }

        if (options.MaxFallbackReadConnections is { } fallbackConnections && fallbackConnections < 0)
        {
            problems.Add($"MaxFallbackReadConnections {fallbackConnections} must not be negative (0: shed every read that would fall back to the primary; null: half the primary's pool).");
        }

        foreach (var (host, weight) in options.ReplicaWeights)
        {
            if (weight < 0)
            {
                problems.Add($"ReplicaWeights['{host}'] is {weight}; weights must be 0 or more.");
            }

            if (hosts.Count > 0 && !hosts.Exists(h => h.IsNamedBy(host)))
            {
                problems.Add($"ReplicaWeights names host '{host}', which is not in the connection string ({string.Join(", ", hosts.Select(h => h.Name))}).");
            }
        }

        if (!Enum.IsDefined(options.StaleReadPolicy))
        {
            problems.Add($"StaleReadPolicy '{options.StaleReadPolicy}' is not a StaleReadPolicy ({string.Join(", ", Enum.GetNames<StaleReadPolicy>())}).");
        }

        if (!Enum.IsDefined(options.InvalidTokenHandling))
        {
            problems.Add($"InvalidTokenHandling '{options.InvalidTokenHandling}' is not an InvalidTokenHandling ({string.Join(", ", Enum.GetNames<InvalidTokenHandling>())}).");
        }

        if (!Enum.IsDefined(options.LostWritesPolicy))
        {
            problems.Add($"LostWritesPolicy '{options.LostWritesPolicy}' is not a LostWritesPolicy ({string.Join(", ", Enum.GetNames<LostWritesPolicy>())}).");
        }

        Positive(problems, nameof(options.MaxReadYourWritesWait), options.MaxReadYourWritesWait);
        if (options.MaxRejoinWait < TimeSpan.Zero)
        {
            problems.Add($"MaxRejoinWait {options.MaxRejoinWait} must not be negative (zero: never wait to rejoin a replica).");
        }
        if (!Enum.IsDefined(options.LsnCapture))
        {
            problems.Add($"LsnCapture '{options.LsnCapture}' is not an LsnCaptureMode ({string.Join(", ", Enum.GetNames<LsnCaptureMode>())}).");
        }

        if (options.LsnCaptureInterval < TimeSpan.Zero || options.LsnCaptureInterval > TimeSpan.FromSeconds(1))
        {
            problems.Add($"LsnCaptureInterval is {options.LsnCaptureInterval}; it must be between 0 and 1 second.");
        }
        if (options.MaxTokenAheadBytes <= 0)
        {
            problems.Add($"MaxTokenAheadBytes {options.MaxTokenAheadBytes} must be positive.");
        }

        if (options.TokenSigningKey is { Length: < 32 })
        {
            // Never echo the key itself.
            problems.Add($"TokenSigningKey is {options.TokenSigningKey.Length} characters long; use at least 32.");
        }

        foreach (var function in options.ReadOnlyFunctions.Concat(options.WritingFunctions))
        {
            if (string.IsNullOrWhiteSpace(function))
            {
                problems.Add("ReadOnlyFunctions and WritingFunctions may not contain empty names.");
                break;
            }
        }

        return problems;
    }

    private static void Positive(List<string> problems, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            problems.Add($"{name} is {value}; it must be positive.");
        }
    }
}
