namespace RoutingData.Testing.Internal;

/// <summary>What a finished command printed and returned.</summary>
internal readonly record struct CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    public string Describe() =>
        $"exit code {ExitCode}; stderr: {Trim(StandardError)}; stdout: {Trim(StandardOutput)}";

    private static string Trim(string text)
    {
        text = text.Trim();
        return text.Length <= 2000 ? text : string.Concat(text.AsSpan(0, 2000), " …");
    }
}
