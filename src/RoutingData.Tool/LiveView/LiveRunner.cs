using Spectre.Console;
using Spectre.Console.Rendering;

namespace RoutingData.Tool.LiveView;

/// <summary>
/// Shows a view that refreshes in place on a terminal (Spectre.Console's live display); where the output is not a
/// terminal (redirected to a file or a pipe), prints a snapshot every few refreshes instead, and the last one at the end.
/// </summary>
internal static class LiveRunner
{
    /// <summary>Refreshes the view every <paramref name="interval"/> until <paramref name="until"/> completes or <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="console">Where to show it.</param>
    /// <param name="render">Builds the view of now.</param>
    /// <param name="interval">How often to refresh.</param>
    /// <param name="until">Ends the view when it completes (its result or failure is the caller's to observe).</param>
    /// <param name="printEvery">Where the output is not a terminal, print every this many refreshes.</param>
    /// <param name="cancellationToken">Ends the view.</param>
    public static async Task RunAsync(IAnsiConsole console, Func<CancellationToken, ValueTask<IRenderable>> render, TimeSpan interval, Task until, int printEvery, CancellationToken cancellationToken)
    {
        if (console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi)
        {
            var first = await render(cancellationToken);
            await console.Live(first).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).StartAsync(async context =>
            {
                while (await WaitAsync(interval, until, cancellationToken))
                {
                    context.UpdateTarget(await render(cancellationToken));
                    context.Refresh();
                }

                context.UpdateTarget(await render(CancellationToken.None));
                context.Refresh();
            });
            return;
        }

        var refreshes = 0;
        while (await WaitAsync(interval, until, cancellationToken))
        {
            if (++refreshes % Math.Max(1, printEvery) == 0)
            {
                console.Write(await render(cancellationToken));
            }
        }

        console.Write(await render(CancellationToken.None));
    }

    /// <summary>Waits one interval; false once <paramref name="until"/> completed or the token was cancelled.</summary>
    private static async Task<bool> WaitAsync(TimeSpan interval, Task until, CancellationToken cancellationToken)
    {
        if (until.IsCompleted || cancellationToken.IsCancellationRequested)
        {
            return false;
        }

        var delay = Task.Delay(interval, cancellationToken);
        await Task.WhenAny(delay, until);
        return !until.IsCompleted && !cancellationToken.IsCancellationRequested;
    }
}
