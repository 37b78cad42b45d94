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

    public static string Render(LossPlotInput input) => Render(input, LossCurve.Of(input.History));

    /// <summary>The picture of <paramref name="input"/> with its history given as <paramref name="curve"/> (read in pages; <c>input.History</c> is not read).</summary>
    public static string Render(LossPlotInput input, LossCurve curve)
    {
        double StepOf(long index) => (double)index * input.HistoryEvery;
        (double Step, double Loss)? final = input.FinalLoss is { } f && double.IsFinite(f) ? ((double)input.Step, f) : null;
        var anyFinite = curve.LowestIndex is not null || final is not null;
        var min = Math.Min(curve.Min, final?.Loss ?? double.PositiveInfinity);
        var max = Math.Max(curve.Max, final?.Loss ?? double.NegativeInfinity);
        var minPositive = Math.Min(curve.MinPositive, final is { Loss: > 0 } fp ? fp.Loss : double.PositiveInfinity);

        var log = input.LogScale && double.IsFinite(minPositive);
        var lastStep = Math.Max(input.Step, curve.Count == 0 ? 0 : StepOf(curve.Count - 1));
        var xAxis = Axis.Linear(0, Math.Max(1, lastStep)).Place(Left, Left + PlotWidth);
        var yAxis = (log
            ? Axis.Logarithmic(minPositive, max)
            : Axis.Linear(Math.Min(0, anyFinite ? min : 0), anyFinite ? max : 1)).Place(Top + PlotHeight, Top);

        var canvas = new SvgCanvas(input.Title, input.Caption);
        canvas.Axes(xAxis, yAxis, "step", log ? "loss (log scale)" : "loss");

        var drawn = curve.Drawn;
        // On a log axis a loss of exactly 0 has no place: it is drawn at the bottom edge.
        double Y(double loss) => log ? yAxis.Map(Math.Max(loss, yAxis.Min)) : yAxis.Map(loss);
        canvas.Add(new XElement(Ns + "path", new XAttribute("id", "loss-curve"), new XAttribute("fill", "none"),
            new XAttribute("stroke", "#1f77b4"), new XAttribute("stroke-width", "2"), new XAttribute("clip-path", $"url(#{PlotClipId})"),
            new XAttribute("d", PathData(drawn.Select(e => (xAxis.Map(StepOf(e.Index)), double.IsFinite(e.Loss) ? Y(e.Loss) : double.NaN))))));

        Markers(canvas, input, curve.LowestIndex is { } lowest ? StepOf(lowest) : null, xAxis);
        if (final is { } end)
        {
            var (px, py) = (xAxis.Map(end.Step), Y(end.Loss));
            canvas.Add(new XElement(Ns + "g", new XAttribute("id", "final-loss"),
                Circle(px, py, 4).WithAttr("fill", "#d62728"),
                Text(Math.Min(px, Left + PlotWidth - 4), py - 10, $"final loss {Loss(end.Loss)}", "end")));
        }
        if (drawn.Count < curve.Count)
        {
            canvas.Note("thinning-note", string.Create(CultureInfo.InvariantCulture,
                $"{curve.Count:N0} history entries drawn as {drawn.Count:N0} (min and max per bucket; thinned for drawing only)"));
        }
        return canvas.ToString();
    }

    private static void Markers(SvgCanvas canvas, LossPlotInput input, double? lowestStep, Axis xAxis)
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
                var began = lowestStep ?? input.Step;
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
}
