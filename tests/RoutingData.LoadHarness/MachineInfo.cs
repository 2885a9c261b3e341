using System.Globalization;
using System.Runtime.InteropServices;

namespace RoutingData.LoadHarness;

/// <summary>What the report says about the machine, read from /proc where it exists.</summary>
internal static class MachineInfo
{
    /// <summary>The 1, 5 and 15 minute load averages.</summary>
    public static string LoadAverage() =>
        Read("/proc/loadavg") is { } text ? string.Join(' ', text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(3)) : "unknown";

    public static string Describe()
    {
        var cpu = Read("/proc/cpuinfo")?.Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memory = Read("/proc/meminfo")?.Split('\n').FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) is { } line
            && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kib)
            ? string.Create(CultureInfo.InvariantCulture, $"{kib / 1024.0 / 1024.0:0} GiB")
            : "unknown memory";
        var os = Read("/etc/os-release")?.Split('\n').FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? RuntimeInformation.OSDescription;
        return string.Create(CultureInfo.InvariantCulture, $"{cpu}, {Environment.ProcessorCount} cores, {memory}, {os}, {RuntimeInformation.FrameworkDescription}");
    }

    private static string? Read(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
