using System.Globalization;
using System.Xml.Linq;
using FitService.Engine.Models;
using static FitService.Api.Plots.SvgCanvas;

namespace FitService.Api.Plots;

/// <summary>
/// What a picture of a fit shows: the points, the curve at the current params and at the initial params, and (for the lesson's
/// sum of ReLUs) each ReLU's contribution. <paramref name="Model"/> computes the model's y at x for given params (the polynomial
/// when null); <paramref name="Contributions"/> the curve of each unit at the fit's params.
/// </summary>
public sealed record FitPlotInput(
    string Title,
    double[] X,
    double[] Y,
    double[]? Params,
    double[]? InitialParams,
    double? Loss,
    string Caption,
    Func<double[], double[], double[]>? Model = null,
    Func<double[], double[], double[][]>? Contributions = null);

/// <summary>The points, the fitted curve (solid), the initial curve (dashed), axes with ticks, the loss in the title.</summary>
public static class FitPlot
{
    /// <summary>At most this many points are drawn; more are thinned evenly (the axes still cover all of them).</summary>
    public const int MaxDrawnPoints = 2000;

    /// <summary>Curve samples across the x axis.</summary>
    public const int CurveSamples = 240;

    public static string Render(FitPlotInput input)
    {
        var (xs, ys) = (input.X, input.Y);
        var xAxis = Axis.Linear(Min(xs), Max(xs)).Place(Left, Left + PlotWidth);
        var samples = Enumerable.Range(0, CurveSamples + 1).Select(i => xAxis.At((double)i / CurveSamples)).ToArray();
        var fitted = Curve(input.Model, input.Params, samples);
        var initial = Curve(input.Model, input.InitialParams, samples);
        var units = input.Params is not null && input.Contributions is { } contributions ? contributions(input.Params, samples) : [];

        // The data decide the y range; a curve may widen it by up to half the data's span on either side, no more,
        // so that a wild initial guess does not squash the points into a line (the plot area clips the rest).
        double lo = Min(ys), hi = Max(ys);
        var span = hi > lo ? hi - lo : Math.Max(1, Math.Abs(hi));
        var curveValues = fitted.Concat(initial).Where(double.IsFinite).ToArray();
        if (curveValues.Length > 0)
        {
            (lo, hi) = (Math.Min(lo, Math.Max(curveValues.Min(), lo - span / 2)), Math.Max(hi, Math.Min(curveValues.Max(), hi + span / 2)));
        }
        var yAxis = Axis.Linear(lo, hi).Place(Top + PlotHeight, Top);

        var canvas = new SvgCanvas(input.Title, input.Caption);
        canvas.Axes(xAxis, yAxis, "x", "y");

        var shown = Thin(xs.Length);
        // Not clipped: the axes cover every point, and one on the edge should show whole.
        var points = new XElement(Ns + "g", new XAttribute("id", "points"), new XAttribute("fill", "#1f77b4"), new XAttribute("fill-opacity", "0.8"));
        foreach (var i in shown) points.Add(Circle(xAxis.Map(xs[i]), yAxis.Map(ys[i]), 3));
        canvas.Add(points);

        if (input.InitialParams is not null) canvas.Add(CurvePath("initial-curve", "#888888", "6 4", samples, initial, xAxis, yAxis));
        if (units.Length > 0)
        {
            // Each ReLU's part of the sum, thin, under the fitted curve (as the lesson's notebook draws them).
            var group = new XElement(Ns + "g", new XAttribute("id", "relu-contributions"), new XAttribute("stroke-opacity", "0.7"));
            for (var j = 0; j < units.Length; j++)
                group.Add(CurvePath($"relu-{j}", "#2ca02c", "2 3", samples, units[j], xAxis, yAxis).WithAttr("stroke-width", "1"));
            canvas.Add(group);
        }
        if (input.Params is not null) canvas.Add(CurvePath("fit-curve", "#d62728", null, samples, fitted, xAxis, yAxis));

        var legend = new List<(string, XElement)> { ($"points ({xs.Length.ToString("N0", CultureInfo.InvariantCulture)})", Circle(12, 0, 3).WithAttr("fill", "#1f77b4")) };
        if (input.Params is not null) legend.Add(("fitted curve", SampleLine("#d62728", null)));
        if (input.InitialParams is not null) legend.Add(("initial curve", SampleLine("#888888", "6 4")));
        if (units.Length > 0) legend.Add(($"each ReLU's part ({units.Length})", SampleLine("#2ca02c", "2 3")));
        canvas.Legend([.. legend]);

        if (shown.Count < xs.Length)
        {
            canvas.Note("thinning-note", string.Create(CultureInfo.InvariantCulture,
                $"showing {shown.Count:N0} of {xs.Length:N0} points (thinned for drawing only; the fit used all of them)"));
        }
        return canvas.ToString();
    }

    /// <summary>Indices of the points to draw: all of them, or an even stride through them.</summary>
    public static IReadOnlyList<int> Thin(int count)
    {
        if (count <= MaxDrawnPoints) return Enumerable.Range(0, count).ToArray();
        return Enumerable.Range(0, MaxDrawnPoints).Select(k => (int)((long)k * count / MaxDrawnPoints)).ToArray();
    }

    private static double[] Curve(Func<double[], double[], double[]>? model, double[]? parameters, double[] xs) =>
        parameters is null ? [] : model?.Invoke(parameters, xs) ?? Array.ConvertAll(xs, x => Polynomial.Evaluate(parameters, x));

    /// <summary>Params the model can be drawn with: as many as it has (a failed exact fit has none), else null and no curve.</summary>
    public static double[]? Drawable(double[]? parameters, int count) => parameters is { Length: > 0 } p && p.Length == count ? p : null;

    private static XElement CurvePath(string id, string color, string? dash, double[] xs, double[] ys, Axis xAxis, Axis yAxis)
    {
        var path = new XElement(Ns + "path", new XAttribute("id", id), new XAttribute("fill", "none"), new XAttribute("stroke", color),
            new XAttribute("stroke-width", "2"), new XAttribute("clip-path", $"url(#{PlotClipId})"),
            new XAttribute("d", PathData(xs.Select((x, i) => (xAxis.Map(x), yAxis.Map(ys[i]))))));
        if (dash is not null) path.Add(new XAttribute("stroke-dasharray", dash));
        return path;
    }

    private static XElement SampleLine(string color, string? dash)
    {
        var line = Line(0, 0, 24, 0, color).WithAttr("stroke-width", "2");
        return dash is null ? line : line.WithAttr("stroke-dasharray", dash);
    }

    private static double Min(double[] values) => values.Length == 0 ? 0 : values.Min();
    private static double Max(double[] values) => values.Length == 0 ? 1 : values.Max();
}

internal static class XElementExtensions
{
    public static XElement WithAttr(this XElement element, string name, string value)
    {
        element.SetAttributeValue(name, value);
        return element;
    }
}
