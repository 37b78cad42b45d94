using System.Globalization;
using System.Xml.Linq;
using static FitService.Api.Plots.SvgCanvas;

namespace FitService.Api.Plots;

/// <summary>What a picture of a loss history shows.</summary>
/// <param name="Title">The heading, with the final loss.</param>
/// <param name="History">Loss before update i·<paramref name="HistoryEvery"/>; non-finite entries are skipped.</param>
/// <param name="HistoryEvery">The history records every k-th step.</param>
/// <param name="Step">Updates done; the final loss is drawn there.</param>
/// <param name="FinalLoss">The loss after the last update.</param>
/// <param name="StopReason"><c>converged</c>, <c>diverged</c> and <c>cancelled</c> get a marker at the step where it happened.</param>
/// <param name="LogScale">A log10 loss axis.</param>
/// <param name="Caption">The SVG description, for screen readers.</param>
public sealed record LossPlotInput(
    string Title,
    double[] History,
    int HistoryEvery,
    int Step,
    double? FinalLoss,
    string? StopReason,
    bool LogScale,
    string Caption);

/// <summary>The loss over the steps, linear or log scale, marking where a stop rule fired or divergence began.</summary>
public static class LossPlot
{
    /// <summary>Longer histories are drawn as the minimum and maximum of each of this many buckets (their shape survives).</summary>
    public const int MaxDrawnBuckets = 1000;

    public static string Render(LossPlotInput input)
    {
        var entries = input.History.Select((loss, i) => (Step: (double)i * input.HistoryEvery, Loss: loss)).ToList();
        (double Step, double Loss)? final = input.FinalLoss is { } f && double.IsFinite(f) ? ((double)input.Step, f) : null;
        var all = entries.Concat(final is { } fl ? [fl] : []).Where(e => double.IsFinite(e.Loss)).ToList();

        var log = input.LogScale && all.Any(e => e.Loss > 0);
        var lastStep = Math.Max(input.Step, entries.Count == 0 ? 0 : entries[^1].Step);
        var xAxis = Axis.Linear(0, Math.Max(1, lastStep)).Place(Left, Left + PlotWidth);
        var yAxis = (log
            ? Axis.Logarithmic(all.Where(e => e.Loss > 0).Min(e => e.Loss), all.Max(e => e.Loss))
            : Axis.Linear(Math.Min(0, all.Count == 0 ? 0 : all.Min(e => e.Loss)), all.Count == 0 ? 1 : all.Max(e => e.Loss))).Place(Top + PlotHeight, Top);

        var canvas = new SvgCanvas(input.Title, input.Caption);
        canvas.Axes(xAxis, yAxis, "step", log ? "loss (log scale)" : "loss");

        var drawn = Thin(entries);
        // On a log axis a loss of exactly 0 has no place: it is drawn at the bottom edge.
        double Y(double loss) => log ? yAxis.Map(Math.Max(loss, yAxis.Min)) : yAxis.Map(loss);
        canvas.Add(new XElement(Ns + "path", new XAttribute("id", "loss-curve"), new XAttribute("fill", "none"),
            new XAttribute("stroke", "#1f77b4"), new XAttribute("stroke-width", "2"), new XAttribute("clip-path", $"url(#{PlotClipId})"),
            new XAttribute("d", PathData(drawn.Select(e => (xAxis.Map(e.Step), double.IsFinite(e.Loss) ? Y(e.Loss) : double.NaN))))));

        Markers(canvas, input, entries, xAxis);
        if (final is { } end)
        {
            var (px, py) = (xAxis.Map(end.Step), Y(end.Loss));
            canvas.Add(new XElement(Ns + "g", new XAttribute("id", "final-loss"),
                Circle(px, py, 4).WithAttr("fill", "#d62728"),
                Text(Math.Min(px, Left + PlotWidth - 4), py - 10, $"final loss {Loss(end.Loss)}", "end")));
        }
        if (drawn.Count < entries.Count)
        {
            canvas.Note("thinning-note", string.Create(CultureInfo.InvariantCulture,
                $"{entries.Count:N0} history entries drawn as {drawn.Count:N0} (min and max per bucket; thinned for drawing only)"));
        }
        return canvas.ToString();
    }

    private static void Markers(SvgCanvas canvas, LossPlotInput input, List<(double Step, double Loss)> entries, Axis xAxis)
    {
        switch (input.StopReason)
        {
            case "converged":
                canvas.Add(Marker("stop-marker", xAxis.Map(input.Step), "#2ca02c", $"stop rule fired at step {input.Step}"));
                break;
            case "cancelled":
                canvas.Add(Marker("stop-marker", xAxis.Map(input.Step), "#7f7f7f", $"cancelled at step {input.Step}"));
                break;
            case "diverged":
                // Divergence began where the loss was lowest: from there on it only grew until it left the numbers.
                var finite = entries.Where(e => double.IsFinite(e.Loss)).ToList();
                var began = finite.Count == 0 ? input.Step : finite.MinBy(e => e.Loss).Step;
                canvas.Add(Marker("divergence-marker", xAxis.Map(began), "#d62728",
                    string.Create(CultureInfo.InvariantCulture, $"divergence began at step {began:0}; not finite at step {input.Step}")));
                break;
        }
    }

    private static XElement Marker(string id, double px, string color, string label)
    {
        var anchorRight = px > Left + PlotWidth * 0.6;
        return new XElement(Ns + "g", new XAttribute("id", id), new XAttribute("class", "marker"),
            Line(px, Top, px, Top + PlotHeight, color).WithAttr("stroke-width", "2").WithAttr("stroke-dasharray", "4 3"),
            Text(anchorRight ? px - 6 : px + 6, Top + PlotHeight - 10, label, anchorRight ? "end" : "start").WithAttr("fill", color));
    }

    /// <summary>All entries, or per bucket its lowest and highest entry in step order.</summary>
    public static IReadOnlyList<(double Step, double Loss)> Thin(List<(double Step, double Loss)> entries)
    {
        if (entries.Count <= 2 * MaxDrawnBuckets) return entries;
        var drawn = new List<(double, double)>(2 * MaxDrawnBuckets + 1);
        for (var b = 0; b < MaxDrawnBuckets; b++)
        {
            var from = (int)((long)b * entries.Count / MaxDrawnBuckets);
            var to = (int)((long)(b + 1) * entries.Count / MaxDrawnBuckets);
            int lo = from, hi = from;
            for (var i = from; i < to; i++)
            {
                if (!double.IsFinite(entries[i].Loss)) continue;
                if (!double.IsFinite(entries[lo].Loss) || entries[i].Loss < entries[lo].Loss) lo = i;
                if (!double.IsFinite(entries[hi].Loss) || entries[i].Loss > entries[hi].Loss) hi = i;
            }
            drawn.Add(entries[Math.Min(lo, hi)]);
            if (lo != hi) drawn.Add(entries[Math.Max(lo, hi)]);
        }
        if (drawn[^1] != entries[^1]) drawn.Add(entries[^1]);
        return drawn;
    }
}
