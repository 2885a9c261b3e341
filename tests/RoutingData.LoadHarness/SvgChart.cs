using System.Globalization;
using System.Net;
using System.Text;

namespace RoutingData.LoadHarness;

/// <summary>One panel of a chart: a value per (concurrency, system); null where there is none.</summary>
internal sealed record ChartPanel(string Title, Func<CellResult, double?> Value, string Format, string? Missing = "n/a", double? Reference = null, double? Max = null);

/// <summary>
/// Grouped bar charts as plain SVG, drawn by the harness itself: one panel per metric, one group of bars per
/// concurrency, one bar per system, its value written above it.
/// </summary>
internal static class SvgChart
{
    private const int PanelWidth = 330;
    private const int PanelHeight = 250;
    private const int Top = 58;
    private const int Left = 44;
    private const int Bottom = 36;
    private const int Gap = 24;

    private static readonly string[] Palette = ["#8c8c8c", "#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756"];

    public static string Render(string title, IReadOnlyList<CellResult> results, IReadOnlyList<ChartPanel> panels)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(panels);
        var systems = results.Select(r => r.System).Distinct().ToList();
        var levels = results.Select(r => r.Concurrency).Distinct().Order().ToList();
        var width = Gap + panels.Count * (PanelWidth + Gap);
        var height = Top + PanelHeight + Bottom + 10;
        var svg = new StringBuilder();
        svg.AppendLine(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, Verdana, sans-serif\">"));
        svg.AppendLine(Invariant($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>"));
        svg.AppendLine(Invariant($"<text x=\"{Gap}\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{Escape(title)}</text>"));

        // Legend.
        var x = Gap;
        for (var s = 0; s < systems.Count; s++)
        {
            svg.AppendLine(Invariant($"<rect x=\"{x}\" y=\"30\" width=\"12\" height=\"12\" fill=\"{Palette[s % Palette.Length]}\"/>"));
            svg.AppendLine(Invariant($"<text x=\"{x + 16}\" y=\"40\" font-size=\"12\">{Escape(systems[s])}</text>"));
            x += 30 + (int)(systems[s].Length * 6.8);
        }

        for (var p = 0; p < panels.Count; p++)
        {
            DrawPanel(svg, Gap + p * (PanelWidth + Gap), panels[p], results, systems, levels);
        }

        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static void DrawPanel(StringBuilder svg, int originX, ChartPanel panel, IReadOnlyList<CellResult> results, List<string> systems, List<int> levels)
    {
        var plotTop = Top + 24;
        var plotHeight = PanelHeight - 24;
        var plotLeft = originX + Left;
        var plotWidth = PanelWidth - Left;
        var values = results.Select(panel.Value).Where(v => v is { } d && double.IsFinite(d)).Select(v => v!.Value).ToList();
        var max = Math.Max(values.Count == 0 ? 1 : values.Max(), panel.Reference ?? 0);
        max = panel.Max ?? NiceCeiling(max <= 0 ? 1 : max * 1.3);

        svg.AppendLine(Invariant($"<text x=\"{originX + PanelWidth / 2}\" y=\"{Top + 12}\" font-size=\"13\" text-anchor=\"middle\">{Escape(panel.Title)}</text>"));

        // Axis and grid: four steps.
        for (var i = 0; i <= 4; i++)
        {
            var value = max * i / 4;
            var y = plotTop + plotHeight - plotHeight * i / 4.0;
            svg.AppendLine(Invariant($"<line x1=\"{plotLeft}\" y1=\"{y:0.#}\" x2=\"{plotLeft + plotWidth}\" y2=\"{y:0.#}\" stroke=\"#e0e0e0\"/>"));
            svg.AppendLine(Invariant($"<text x=\"{plotLeft - 4}\" y=\"{y + 4:0.#}\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">{Escape(Format(value, panel.Format))}</text>"));
        }

        svg.AppendLine(Invariant($"<line x1=\"{plotLeft}\" y1=\"{plotTop + plotHeight}\" x2=\"{plotLeft + plotWidth}\" y2=\"{plotTop + plotHeight}\" stroke=\"#333\"/>"));
        if (panel.Reference is { } reference)
        {
            var y = plotTop + plotHeight - plotHeight * reference / max;
            svg.AppendLine(Invariant($"<line x1=\"{plotLeft}\" y1=\"{y:0.#}\" x2=\"{plotLeft + plotWidth}\" y2=\"{y:0.#}\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>"));
        }

        var groupWidth = (double)plotWidth / levels.Count;
        var barWidth = Math.Min(26, (groupWidth - 10) / systems.Count);
        for (var g = 0; g < levels.Count; g++)
        {
            var groupLeft = plotLeft + g * groupWidth + (groupWidth - barWidth * systems.Count) / 2;
            svg.AppendLine(Invariant($"<text x=\"{plotLeft + g * groupWidth + groupWidth / 2:0.#}\" y=\"{plotTop + plotHeight + 16}\" font-size=\"11\" text-anchor=\"middle\">{levels[g]} client{(levels[g] == 1 ? string.Empty : "s")}</text>"));
            for (var s = 0; s < systems.Count; s++)
            {
                var result = results.FirstOrDefault(r => r.Concurrency == levels[g] && r.System == systems[s]);
                if (result is null)
                {
                    continue;
                }

                var barX = groupLeft + s * barWidth;
                var labelX = barX + barWidth / 2;
                var value = panel.Value(result);
                if (value is not { } v || !double.IsFinite(v))
                {
                    svg.AppendLine(Invariant($"<text x=\"{labelX:0.#}\" y=\"{plotTop + plotHeight - 4}\" font-size=\"9\" text-anchor=\"end\" fill=\"#c00\" transform=\"rotate(-90 {labelX:0.#} {plotTop + plotHeight - 4})\">{Escape(panel.Missing ?? "n/a")}</text>"));
                    continue;
                }

                var barHeight = plotHeight * v / max;
                var top = plotTop + plotHeight - barHeight;
                svg.AppendLine(Invariant($"<rect x=\"{barX + 1:0.#}\" y=\"{top:0.#}\" width=\"{barWidth - 2:0.#}\" height=\"{barHeight:0.#}\" fill=\"{Palette[s % Palette.Length]}\"><title>{Escape(systems[s])}, {levels[g]} clients: {Escape(Format(v, panel.Format))}</title></rect>"));

                // Values run vertically so that a group of narrow bars stays readable.
                var textY = top - 3;
                svg.AppendLine(Invariant($"<text x=\"{labelX + 3:0.#}\" y=\"{textY:0.#}\" font-size=\"9\" transform=\"rotate(-90 {labelX + 3:0.#} {textY:0.#})\">{Escape(Format(v, panel.Format))}</text>"));
            }
        }
    }

    /// <summary>
    /// One panel per comparison: each round's ratio as a dot (round number across), the line at 1 (level), the geometric
    /// mean and its 95 % confidence band.
    /// </summary>
    public static string RenderRounds(string title, IReadOnlyList<(string Label, RoundComparison Comparison)> comparisons)
    {
        ArgumentNullException.ThrowIfNull(comparisons);
        const int Width = 860, Height = 230, PlotLeft = 56, PlotTop = 30, PlotHeight = 160;
        const int PlotWidth = Width - PlotLeft - Gap;
        var height = 34 + comparisons.Count * (Height + 10);
        var svg = new StringBuilder();
        svg.AppendLine(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"DejaVu Sans, Verdana, sans-serif\">"));
        svg.AppendLine(Invariant($"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>"));
        svg.AppendLine(Invariant($"<text x=\"{Gap}\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{Escape(title)}</text>"));
        for (var i = 0; i < comparisons.Count; i++)
        {
            var (label, c) = comparisons[i];
            var top = 34 + i * (Height + 10);
            var low = Math.Min(1, c.Ratios.Min());
            var high = Math.Max(1, c.Ratios.Max());
            var pad = Math.Max(0.02, (high - low) * 0.1);
            var range = high - low + 2 * pad;
            var tick = range <= 0.25 ? 0.05 : range <= 0.5 ? 0.1 : range <= 1 ? 0.2 : Math.Pow(10, Math.Ceiling(Math.Log10(range / 5)));
            (low, high) = (Math.Floor((low - pad) / tick) * tick, Math.Ceiling((high + pad) / tick) * tick);
            var ticks = (int)Math.Round((high - low) / tick);
            double Y(double v) => top + PlotTop + PlotHeight * (high - v) / (high - low);
            double X(int round) => PlotLeft + (c.Rounds == 1 ? PlotWidth / 2.0 : PlotWidth * round / (double)(c.Rounds - 1));

            svg.AppendLine(Invariant($"<text x=\"{Gap}\" y=\"{top + 16}\" font-size=\"13\">{Escape(label)}: {c.GeometricMean:0.000}× (geometric mean; 95 % confidence {c.Low:0.000}–{c.High:0.000}), ahead in {c.Ahead} of {c.Rounds} rounds</text>"));
            for (var step = 0; step <= ticks; step++)
            {
                var value = low + tick * step;
                svg.AppendLine(Invariant($"<line x1=\"{PlotLeft}\" y1=\"{Y(value):0.#}\" x2=\"{PlotLeft + PlotWidth}\" y2=\"{Y(value):0.#}\" stroke=\"#e0e0e0\"/>"));
                svg.AppendLine(Invariant($"<text x=\"{PlotLeft - 4}\" y=\"{Y(value) + 4:0.#}\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">{value:0.00}</text>"));
            }

            // With few rounds the interval can be far wider than the dots: the band stops at the plot's edges.
            var (bandTop, bandBottom) = (Y(Math.Min(c.High, high)), Y(Math.Max(c.Low, low)));
            svg.AppendLine(Invariant($"<rect x=\"{PlotLeft}\" y=\"{bandTop:0.#}\" width=\"{PlotWidth}\" height=\"{Math.Max(1, bandBottom - bandTop):0.#}\" fill=\"#4c78a8\" fill-opacity=\"0.18\"><title>95 % confidence {c.Low:0.000}–{c.High:0.000}</title></rect>"));
            svg.AppendLine(Invariant($"<line x1=\"{PlotLeft}\" y1=\"{Y(1):0.#}\" x2=\"{PlotLeft + PlotWidth}\" y2=\"{Y(1):0.#}\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>"));
            svg.AppendLine(Invariant($"<line x1=\"{PlotLeft}\" y1=\"{Y(c.GeometricMean):0.#}\" x2=\"{PlotLeft + PlotWidth}\" y2=\"{Y(c.GeometricMean):0.#}\" stroke=\"#4c78a8\" stroke-width=\"2\"/>"));
            for (var r = 0; r < c.Rounds; r++)
            {
                svg.AppendLine(Invariant($"<circle cx=\"{X(r):0.#}\" cy=\"{Y(c.Ratios[r]):0.#}\" r=\"2.5\" fill=\"{(c.Ratios[r] > 1 ? "#4c78a8" : "#8c8c8c")}\"><title>round {r + 1}: {c.Ratios[r]:0.000}</title></circle>"));
            }

            svg.AppendLine(Invariant($"<text x=\"{PlotLeft + PlotWidth / 2}\" y=\"{top + PlotTop + PlotHeight + 18}\" font-size=\"11\" text-anchor=\"middle\">round (1–{c.Rounds}); dots above the dashed line: RoutingData ahead in that round</text>"));
        }

        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static double NiceCeiling(double value)
    {
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in new[] { 1, 1.2, 2, 4, 6, 8, 10 })
        {
            if (step * magnitude >= value)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }

    private static string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
