using Spectre.Console;

namespace RoutingData.Demo;

/// <summary>The demo's narration: section rules, lines and routing decisions, through Spectre.Console.</summary>
internal sealed class Screen(IAnsiConsole console)
{
    public IAnsiConsole Console { get; } = console;

    public void Title(string text)
    {
        Console.WriteLine();
        Console.Write(new Rule($"[bold]{Markup.Escape(text)}[/]").LeftJustified());
    }

    public void Line(string text) => Console.MarkupLine(Markup.Escape(text));

    public void Route(string sql, RouteInfo route)
    {
        var target = route.Role == HostRole.Primary ? $"[yellow]PRIMARY {route.Host}[/]" : $"[green]replica {route.Host}[/]";
        var shown = sql.Length > 62 ? sql[..59] + "..." : sql;
        Console.MarkupLine($"  {Markup.Escape(shown),-62} → {target}  [grey]({route.Reason}: {Markup.Escape(route.Detail)})[/]");
    }
}
