using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace FitService.Api.Plots;

/// <summary>
/// An SVG 1.1 document under construction: a white page, a plot area with axes, ticks and labels, and helpers for
/// paths, circles and text. Built as XML (so always well-formed and escaped), with no dependency beyond the BCL.
/// </summary>
public sealed class SvgCanvas
{
    public static readonly XNamespace Ns = "http://www.w3.org/2000/svg";
    public const double Width = 720, Height = 440, Left = 72, Right = 24, Top = 64, Bottom = 60;
    public const string PlotClipId = "plot-clip";

    private readonly XElement _root;

    public SvgCanvas(string title, string description)
    {
        _root = new XElement(Ns + "svg",
            new XAttribute("version", "1.1"),
            new XAttribute("width", Num(Width)),
            new XAttribute("height", Num(Height)),
            new XAttribute("viewBox", $"0 0 {Num(Width)} {Num(Height)}"),
            new XAttribute("font-family", "DejaVu Sans, Helvetica, Arial, sans-serif"),
            new XAttribute("font-size", "12"),
            new XElement(Ns + "title", title),
            new XElement(Ns + "desc", description),
            new XElement(Ns + "defs",
                new XElement(Ns + "clipPath", new XAttribute("id", PlotClipId),
                    new XElement(Ns + "rect", Attrs(("x", Left), ("y", Top), ("width", PlotWidth), ("height", PlotHeight))))),
            new XElement(Ns + "rect", new XAttribute("width", "100%"), new XAttribute("height", "100%"), new XAttribute("fill", "#ffffff")),
            new XElement(Ns + "text", new XAttribute("id", "title"), Attrs(("x", Width / 2), ("y", 28)),
                new XAttribute("text-anchor", "middle"), new XAttribute("font-size", "15"), new XAttribute("font-weight", "bold"), title));
    }

    public static double PlotWidth => Width - Left - Right;

    /// <summary>Width of one character of a tick label (12 px sans-serif digits), for keeping labels inside the picture.</summary>
    private const double LabelCharWidth = 7;
    public static double PlotHeight => Height - Top - Bottom;

    public void Add(XElement element) => _root.Add(element);

    /// <summary>Grid lines, tick marks and labels for both axes, and the axis titles.</summary>
    public void Axes(Axis x, Axis y, string xTitle, string yTitle)
    {
        var grid = new XElement(Ns + "g", new XAttribute("id", "grid"), new XAttribute("stroke", "#e4e4e4"), new XAttribute("stroke-width", "1"));
        var xAxis = new XElement(Ns + "g", new XAttribute("id", "x-axis"), new XAttribute("class", "axis"));
        var yAxis = new XElement(Ns + "g", new XAttribute("id", "y-axis"), new XAttribute("class", "axis"));
        var bottom = Top + PlotHeight;
        foreach (var tick in x.Ticks)
        {
            var px = x.Map(tick.Value);
            if (tick.Label.Length > 0) grid.Add(Line(px, Top, px, bottom));
            var mark = new XElement(Ns + "g", new XAttribute("class", tick.Label.Length > 0 ? "tick" : "tick minor"),
                Line(px, bottom, px, bottom + (tick.Label.Length > 0 ? 6 : 3), "#333333"));
            if (tick.Label.Length > 0)
            {
                // A label centred on the last tick of a long run ("1000000") would run past the right edge: end it there instead.
                var halfWidth = LabelCharWidth * tick.Label.Length / 2;
                mark.Add(px + halfWidth > Width - 2 ? Text(Width - 2, bottom + 20, tick.Label, "end") : Text(px, bottom + 20, tick.Label, "middle"));
            }
            xAxis.Add(mark);
        }
        foreach (var tick in y.Ticks)
        {
            var py = y.Map(tick.Value);
            if (tick.Label.Length > 0) grid.Add(Line(Left, py, Left + PlotWidth, py));
            var mark = new XElement(Ns + "g", new XAttribute("class", tick.Label.Length > 0 ? "tick" : "tick minor"),
                Line(Left - (tick.Label.Length > 0 ? 6 : 3), py, Left, py, "#333333"));
            if (tick.Label.Length > 0) mark.Add(Text(Left - 9, py + 4, tick.Label, "end"));
            yAxis.Add(mark);
        }
        xAxis.Add(Line(Left, bottom, Left + PlotWidth, bottom, "#333333"));
        yAxis.Add(Line(Left, Top, Left, bottom, "#333333"));
        xAxis.Add(Text(Left + PlotWidth / 2, Height - 18, xTitle, "middle"));
        yAxis.Add(new XElement(Ns + "text", Attrs(("x", 0), ("y", 0)), new XAttribute("text-anchor", "middle"),
            new XAttribute("transform", $"translate({Num(18)},{Num(Top + PlotHeight / 2)}) rotate(-90)"), yTitle));
        _root.Add(grid, xAxis, yAxis);
    }

    /// <summary>A small note in the bottom-right corner (e.g. that points were thinned for drawing).</summary>
    public void Note(string id, string text) =>
        _root.Add(new XElement(Ns + "text", new XAttribute("id", id), Attrs(("x", Width - Right), ("y", Height - 4)),
            new XAttribute("text-anchor", "end"), new XAttribute("font-size", "11"), new XAttribute("fill", "#666666"), text));

    /// <summary>A legend in one row between the title and the plot area, right-aligned, so it never hides a point.</summary>
    public void Legend(params (string Label, XElement Sample)[] entries)
    {
        const double sampleWidth = 30, gap = 18, charWidth = 7;
        var widths = entries.Select(e => sampleWidth + e.Label.Length * charWidth).ToArray();
        var x = Left + PlotWidth - widths.Sum() - gap * (entries.Length - 1);
        const double y = Top - 14;
        var legend = new XElement(Ns + "g", new XAttribute("id", "legend"));
        for (var i = 0; i < entries.Length; i++)
        {
            var sample = entries[i].Sample;
            sample.SetAttributeValue("transform", $"translate({Num(x)},{Num(y)})");
            legend.Add(sample, Text(x + sampleWidth, y + 4, entries[i].Label, "start"));
            x += widths[i] + gap;
        }
        _root.Add(legend);
    }

    /// <summary>
    /// The document. Every text and attribute is cleaned of characters XML cannot hold first (a label may carry
    /// "a\u0000b"), here, where everything written passes: no caller can make the writer emit invalid XML or throw.
    /// </summary>
    public override string ToString()
    {
        foreach (var text in _root.DescendantNodes().OfType<XText>()) text.Value = XmlSafe(text.Value);
        foreach (var attribute in _root.DescendantsAndSelf().Attributes()) attribute.Value = XmlSafe(attribute.Value);
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + _root.ToString(SaveOptions.DisableFormatting) + "\n";
    }

    /// <summary>The text without the characters XML 1.0 forbids (controls other than tab and newlines, lone surrogates, U+FFFE/U+FFFF).</summary>
    public static string XmlSafe(string text)
    {
        var firstBad = FirstInvalid(text);
        if (firstBad < 0) return text;
        var clean = new StringBuilder(text.Length);
        clean.Append(text, 0, firstBad);
        for (var i = firstBad; i < text.Length; i++)
        {
            if (i + 1 < text.Length && XmlConvert.IsXmlSurrogatePair(text[i + 1], text[i])) clean.Append(text, i++, 2);
            else if (XmlConvert.IsXmlChar(text[i])) clean.Append(text[i]);
        }
        return clean.ToString();
    }

    private static int FirstInvalid(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (XmlConvert.IsXmlChar(text[i])) continue;
            if (i + 1 < text.Length && XmlConvert.IsXmlSurrogatePair(text[i + 1], text[i])) { i++; continue; }
            return i;
        }
        return -1;
    }

    public static XElement Line(double x1, double y1, double x2, double y2, string? stroke = null)
    {
        var line = new XElement(Ns + "line", Attrs(("x1", x1), ("y1", y1), ("x2", x2), ("y2", y2)));
        if (stroke is not null) line.Add(new XAttribute("stroke", stroke));
        return line;
    }

    public static XElement Text(double x, double y, string text, string anchor) =>
        new(Ns + "text", Attrs(("x", x), ("y", y)), new XAttribute("text-anchor", anchor), text);

    public static XElement Circle(double cx, double cy, double r) => new(Ns + "circle", Attrs(("cx", cx), ("cy", cy), ("r", r)));

    /// <summary>
    /// Path data through the given pixel points; a point that is not finite or lies far outside the plot (a curve
    /// running off to infinity) lifts the pen, so the path stays drawable and clipping does the rest.
    /// </summary>
    public static string PathData(IEnumerable<(double X, double Y)> points)
    {
        var d = new StringBuilder();
        var penDown = false;
        foreach (var (x, y) in points)
        {
            if (!double.IsFinite(x) || !double.IsFinite(y) || y < Top - 4 * PlotHeight || y > Top + 5 * PlotHeight)
            {
                penDown = false;
                continue;
            }
            d.Append(d.Length == 0 ? "" : " ").Append(penDown ? 'L' : 'M').Append(Num(x)).Append(',').Append(Num(y));
            penDown = true;
        }
        return d.ToString();
    }

    public static XAttribute[] Attrs(params (string Name, double Value)[] values) =>
        Array.ConvertAll(values, v => new XAttribute(v.Name, Num(v.Value)));

    public static string Num(double value) => Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A loss as the lesson shows it (4 decimals), or in exponent form when that would hide it.</summary>
    public static string Loss(double? loss) => loss switch
    {
        null => "n/a",
        { } v when !double.IsFinite(v) => "not finite",
        { } v when v != 0 && (Math.Abs(v) < 1e-3 || Math.Abs(v) >= 1e6) => v.ToString("0.###e0", CultureInfo.InvariantCulture),
        { } v => v.ToString("F4", CultureInfo.InvariantCulture),
    };
}
