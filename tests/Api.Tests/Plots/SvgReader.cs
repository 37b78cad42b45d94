using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace FitService.Api.Tests.Plots;

/// <summary>Reads a plot back as a person would: the axes from their tick labels and tick positions, the curves from their path data.</summary>
public sealed partial class SvgReader
{
    public static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    public SvgReader(string svg) => Document = XDocument.Parse(svg);

    public XDocument Document { get; }
    public XElement Root => Document.Root!;

    public XElement? ById(string id) => Root.Descendants().FirstOrDefault(e => (string?)e.Attribute("id") == id);

    /// <summary>The labelled ticks of an axis: (pixel, value) pairs.</summary>
    public IReadOnlyList<(double Pixel, double Value)> Ticks(string axisId)
    {
        var vertical = axisId == "y-axis";
        return ById(axisId)!.Elements(Svg + "g").Where(g => (string?)g.Attribute("class") == "tick").Select(g =>
        {
            var line = g.Element(Svg + "line")!;
            var pixel = Number(line.Attribute(vertical ? "y1" : "x1")!.Value);
            return (pixel, Number(g.Element(Svg + "text")!.Value));
        }).ToList();
    }

    /// <summary>The pixel → value map of an axis, from its first and last labelled ticks (linear, or log10 when <paramref name="log"/>).</summary>
    public Func<double, double> Inverse(string axisId, bool log = false)
    {
        var ticks = Ticks(axisId);
        var (p0, v0) = ticks[0];
        var (p1, v1) = ticks[^1];
        if (log) return p => Math.Pow(10, Math.Log10(v0) + (p - p0) / (p1 - p0) * (Math.Log10(v1) - Math.Log10(v0)));
        return p => v0 + (p - p0) / (p1 - p0) * (v1 - v0);
    }

    /// <summary>The value → pixel map of an axis.</summary>
    public Func<double, double> Forward(string axisId, bool log = false)
    {
        var ticks = Ticks(axisId);
        var (p0, v0) = ticks[0];
        var (p1, v1) = ticks[^1];
        if (log) return v => p0 + (Math.Log10(v) - Math.Log10(v0)) / (Math.Log10(v1) - Math.Log10(v0)) * (p1 - p0);
        return v => p0 + (v - v0) / (v1 - v0) * (p1 - p0);
    }

    /// <summary>The vertices of a path made of M and L commands with absolute coordinates.</summary>
    public IReadOnlyList<(double X, double Y)> PathPoints(string id)
    {
        var d = ById(id)!.Attribute("d")!.Value;
        return PathCommand().Matches(d).Select(m => (Number(m.Groups[2].Value), Number(m.Groups[3].Value))).ToList();
    }

    public IReadOnlyList<(double X, double Y)> Circles(string groupId) =>
        ById(groupId)!.Elements(Svg + "circle").Select(c => (Number(c.Attribute("cx")!.Value), Number(c.Attribute("cy")!.Value))).ToList();

    public static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"([ML])(-?[0-9.]+),(-?[0-9.]+)")]
    private static partial Regex PathCommand();
}
