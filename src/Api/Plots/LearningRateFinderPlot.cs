using System.Globalization;
using System.Xml.Linq;
using FitService.Api.LearningRates;
using static FitService.Api.Plots.SvgCanvas;

namespace FitService.Api.Plots;

/// <summary>The finder's curve as fastai plots it: loss against the learning rate on a log axis, the suggestions marked.</summary>
public static class LearningRateFinderPlot
{
    public static string Render(LearningRateFinderResource run)
    {
        var title = $"{run.Label ?? "learning-rate finder " + run.Id[..Math.Min(8, run.Id.Length)]}: " + (run.Suggested is { } s
            ? $"suggested rate {Rate(s)}" : run.Status is "queued" or "running" ? run.Status : "no suggestion");
        var curve = run.Curve ?? [];
        var caption = string.Create(CultureInfo.InvariantCulture,
            $"Learning-rate finder {run.Id} ({run.Status}): {curve.Count} updates from {Rate(run.Request.StartLearningRate)}; " +
            $"steep {Rate(run.Suggestions?.Steep)}, minimum/10 {Rate(run.Suggestions?.Minimum)}.");
        var canvas = new SvgCanvas(title, caption);

        var rates = curve.Count > 0 ? curve.Select(p => p.LearningRate).ToArray() : [run.Request.StartLearningRate, run.Request.EndLearningRate];
        var xAxis = Axis.Logarithmic(rates.Min(), rates.Max()).Place(Left, Left + PlotWidth);
        var smoothed = curve.Where(p => p.SmoothedLoss is { } v && double.IsFinite(v)).ToList();
        var raw = curve.Where(p => p.Loss is { } v && double.IsFinite(v)).ToList();
        // The y range follows the smoothed curve without its last 5 points, as fastai's plot (skip_end = 5): the explosion
        // leaves the picture at the top instead of flattening everything before it.
        var framed = smoothed.Count > 10 ? smoothed[..^5] : smoothed;
        double lo = framed.Count > 0 ? framed.Min(p => p.SmoothedLoss!.Value) : 0, hi = framed.Count > 0 ? framed.Max(p => p.SmoothedLoss!.Value) : 1;
        var yAxis = Axis.Linear(Math.Min(lo, 0), hi).Place(Top + PlotHeight, Top);
        canvas.Axes(xAxis, yAxis, "learning rate (log scale)", "loss");

        canvas.Add(Path("raw-loss", "#aec7e8", raw.Select(p => (xAxis.Map(p.LearningRate), yAxis.Map(p.Loss!.Value)))));
        canvas.Add(Path("smoothed-loss", "#1f77b4", smoothed.Select(p => (xAxis.Map(p.LearningRate), yAxis.Map(p.SmoothedLoss!.Value)))));
        var legend = new List<(string, XElement)>
        {
            ("smoothed loss", Line(0, 0, 24, 0, "#1f77b4").WithAttr("stroke-width", "2")),
            ("loss", Line(0, 0, 24, 0, "#aec7e8").WithAttr("stroke-width", "2")),
        };
        if (run.Suggestions?.Steep is { } steep) canvas.Add(Marker("steep-marker", xAxis.Map(steep), "#d62728", $"steep {Rate(steep)}", 0));
        if (run.Suggestions?.Minimum is { } minimum) canvas.Add(Marker("minimum-marker", xAxis.Map(minimum), "#2ca02c", $"minimum/10 {Rate(minimum)}", 16));
        canvas.Legend([.. legend]);
        return canvas.ToString();
    }

    private static XElement Path(string id, string color, IEnumerable<(double X, double Y)> points) =>
        new(Ns + "path", new XAttribute("id", id), new XAttribute("fill", "none"), new XAttribute("stroke", color), new XAttribute("stroke-width", "2"),
            new XAttribute("clip-path", $"url(#{PlotClipId})"), new XAttribute("d", PathData(points)));

    private static XElement Marker(string id, double x, string color, string label, double dy) =>
        new(Ns + "g", new XAttribute("id", id),
            Line(x, Top, x, Top + PlotHeight, color).WithAttr("stroke-dasharray", "5 4").WithAttr("stroke-width", "1.5"),
            Text(Math.Min(x + 4, Left + PlotWidth - 4), Top + 14 + dy, label, x + 4 > Left + PlotWidth - 120 ? "end" : "start").WithAttr("fill", color));

    private static string Rate(double? rate) => rate is { } r ? r.ToString("G3", CultureInfo.InvariantCulture) : "none";
}
