using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace FitService.Cli.Plotting;

/// <summary>
/// Draws the service's own plot SVG (GET /v1/fits/{id}/plot.svg) into pixels: the subset it writes, and only that —
/// rect, line, circle and path (M/L) with stroke, stroke-width, stroke-dasharray, fill, fill-opacity, translate() and the
/// rectangular clip path, inherited through groups. Text is left out (this is a picture of the data, the curve and the
/// grid; the SVG has the labels). Edges are anti-aliased by coverage.
/// </summary>
internal sealed class SvgRaster
{
    private readonly byte[] _rgba;
    private readonly double _scale;
    private readonly Dictionary<string, (double X, double Y, double W, double H)> _clips = [];

    private SvgRaster(int width, int height, double scale)
    {
        Width = width;
        Height = height;
        _scale = scale;
        _rgba = new byte[width * height * 4];
    }

    public int Width { get; }

    public int Height { get; }

    public ReadOnlySpan<byte> Pixels => _rgba;

    /// <summary>The picture of <paramref name="svg"/> at <paramref name="scale"/> pixels per SVG unit.</summary>
    public static SvgRaster Render(string svg, double scale = 2)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        using var reader = XmlReader.Create(new StringReader(svg), settings);
        var root = XDocument.Load(reader).Root ?? throw new FormatException("the plot is not an SVG document");
        var width = Number(root.Attribute("width")?.Value) ?? 720;
        var height = Number(root.Attribute("height")?.Value) ?? 440;
        var raster = new SvgRaster((int)Math.Ceiling(width * scale), (int)Math.Ceiling(height * scale), scale);
        raster.Fill(0, 0, raster.Width, raster.Height, (255, 255, 255), 1);
        foreach (var clip in root.Descendants().Where(e => e.Name.LocalName == "clipPath"))
        {
            if (clip.Attribute("id")?.Value is { } id && clip.Elements().FirstOrDefault(e => e.Name.LocalName == "rect") is { } rect)
                raster._clips[id] = (Number(rect.Attribute("x")?.Value) ?? 0, Number(rect.Attribute("y")?.Value) ?? 0,
                    Number(rect.Attribute("width")?.Value) ?? width, Number(rect.Attribute("height")?.Value) ?? height);
        }
        raster.Draw(root, new Style(), width, height);
        return raster;
    }

    /// <summary>What an element inherits from its groups.</summary>
    private sealed record Style(string? Stroke = null, double StrokeWidth = 1, string? Dash = null, string Fill = "#000000",
        double FillOpacity = 1, double Dx = 0, double Dy = 0, (double X, double Y, double W, double H)? Clip = null);

    private void Draw(XElement element, Style inherited, double width, double height)
    {
        var name = element.Name.LocalName;
        if (name is "defs" or "clipPath" or "title" or "desc" or "text") return;
        var style = inherited with
        {
            Stroke = Attr(element, "stroke") ?? inherited.Stroke,
            StrokeWidth = Number(Attr(element, "stroke-width")) ?? inherited.StrokeWidth,
            Dash = Attr(element, "stroke-dasharray") ?? inherited.Dash,
            Fill = Attr(element, "fill") ?? inherited.Fill,
            FillOpacity = Number(Attr(element, "fill-opacity")) ?? inherited.FillOpacity,
        };
        if (Attr(element, "transform") is { } transform && Translation(transform) is { } shift)
            style = style with { Dx = style.Dx + shift.X, Dy = style.Dy + shift.Y };
        if (Attr(element, "clip-path") is { } clipPath && clipPath.StartsWith("url(#", StringComparison.Ordinal)
            && _clips.TryGetValue(clipPath[5..^1], out var clip))
            style = style with { Clip = clip };

        switch (name)
        {
            case "rect" when Color(style.Fill) is { } color:
                var w = Length(Attr(element, "width"), width);
                var h = Length(Attr(element, "height"), height);
                var x = (Number(Attr(element, "x")) ?? 0) + style.Dx;
                var y = (Number(Attr(element, "y")) ?? 0) + style.Dy;
                Fill((int)(x * _scale), (int)(y * _scale), (int)Math.Ceiling((x + w) * _scale), (int)Math.Ceiling((y + h) * _scale), color, style.FillOpacity);
                break;
            case "circle" when Color(style.Fill) is { } color:
                Disc((Number(Attr(element, "cx")) ?? 0) + style.Dx, (Number(Attr(element, "cy")) ?? 0) + style.Dy, Number(Attr(element, "r")) ?? 0,
                    color, style.FillOpacity, style.Clip);
                break;
            case "line" when Color(style.Stroke) is { } color:
                Polyline([[((Number(Attr(element, "x1")) ?? 0) + style.Dx, (Number(Attr(element, "y1")) ?? 0) + style.Dy),
                    ((Number(Attr(element, "x2")) ?? 0) + style.Dx, (Number(Attr(element, "y2")) ?? 0) + style.Dy)]], color, style);
                break;
            case "path" when Color(style.Stroke) is { } color:
                Polyline(PathPieces(Attr(element, "d") ?? "", style.Dx, style.Dy), color, style);
                break;
        }
        foreach (var child in element.Elements()) Draw(child, style, width, height);
    }

    private static string? Attr(XElement e, string name) => e.Attribute(name)?.Value;

    private static double? Number(string? text) =>
        text is not null && double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null;

    private static double Length(string? text, double whole) =>
        text is not null && text.EndsWith('%') ? (Number(text[..^1]) ?? 100) / 100 * whole : Number(text) ?? 0;

    private static (double X, double Y)? Translation(string transform)
    {
        var start = transform.IndexOf("translate(", StringComparison.Ordinal);
        if (start < 0) return null;
        var end = transform.IndexOf(')', start);
        var parts = transform[(start + 10)..end].Split([',', ' '], StringSplitOptions.RemoveEmptyEntries);
        return (Number(parts.ElementAtOrDefault(0)) ?? 0, Number(parts.ElementAtOrDefault(1)) ?? 0);
    }

    /// <summary>#rrggbb (or #rgb); none or anything else draws nothing.</summary>
    private static (byte R, byte G, byte B)? Color(string? text)
    {
        if (text is null || !text.StartsWith('#')) return null;
        var hex = text[1..];
        if (hex.Length == 3) hex = string.Concat(hex.Select(c => $"{c}{c}"));
        if (hex.Length != 6 || !int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var rgb)) return null;
        return ((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb);
    }

    /// <summary>The pieces of path data made of M and L commands (absolute, as the service writes them), each a polyline.</summary>
    private static List<List<(double X, double Y)>> PathPieces(string d, double dx, double dy)
    {
        var pieces = new List<List<(double X, double Y)>>();
        var tokens = d.Replace(",", " ", StringComparison.Ordinal).Replace("M", " M ", StringComparison.Ordinal).Replace("L", " L ", StringComparison.Ordinal)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        List<(double X, double Y)>? current = null;
        for (var i = 0; i < tokens.Length; i++)
        {
            if (tokens[i] == "M") { current = []; pieces.Add(current); continue; }
            if (tokens[i] == "L") continue;
            if (current is null || i + 1 >= tokens.Length || Number(tokens[i]) is not { } x || Number(tokens[i + 1]) is not { } y) continue;
            current.Add((x + dx, y + dy));
            i++;
        }
        return pieces;
    }

    private void Polyline(List<List<(double X, double Y)>> pieces, (byte, byte, byte) color, Style style)
    {
        var dashes = style.Dash?.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries).Select(s => Number(s) ?? 0).Where(v => v > 0).ToArray();
        foreach (var piece in pieces)
        {
            var along = 0.0; // distance along the piece, for the dash pattern
            for (var k = 1; k < piece.Count; k++)
            {
                var (a, b) = (piece[k - 1], piece[k]);
                var length = Math.Sqrt((b.X - a.X) * (b.X - a.X) + (b.Y - a.Y) * (b.Y - a.Y));
                if (dashes is { Length: > 0 })
                {
                    foreach (var (from, to) in DashedParts(along, length, dashes))
                        Segment(Lerp(a, b, from / length), Lerp(a, b, to / length), style.StrokeWidth, color, style.Clip);
                }
                else Segment(a, b, style.StrokeWidth, color, style.Clip);
                along += length;
            }
        }
    }

    private static (double X, double Y) Lerp((double X, double Y) a, (double X, double Y) b, double t) => (a.X + (b.X - a.X) * t, a.Y + (b.Y - a.Y) * t);

    /// <summary>The drawn parts [from, to] of a segment of <paramref name="length"/> starting <paramref name="start"/> along the path.</summary>
    private static IEnumerable<(double From, double To)> DashedParts(double start, double length, double[] dashes)
    {
        var period = dashes.Sum();
        var offset = start % period;
        var position = 0.0;
        var index = 0;
        while (offset >= dashes[index]) { offset -= dashes[index]; index = (index + 1) % dashes.Length; }
        while (position < length)
        {
            var run = Math.Min(dashes[index] - offset, length - position);
            if (index % 2 == 0 && run > 0) yield return (position, position + run);
            position += run;
            offset = 0;
            index = (index + 1) % dashes.Length;
        }
    }

    /// <summary>A segment of the given width with round ends: each pixel covered by its distance to the segment.</summary>
    private void Segment((double X, double Y) a, (double X, double Y) b, double strokeWidth, (byte, byte, byte) color, (double X, double Y, double W, double H)? clip)
    {
        var (ax, ay, bx, by) = (a.X * _scale, a.Y * _scale, b.X * _scale, b.Y * _scale);
        var half = Math.Max(strokeWidth * _scale, 1) / 2;
        var (x0, x1) = Bounds(Math.Min(ax, bx) - half - 1, Math.Max(ax, bx) + half + 1, Width, clip?.X, clip?.W);
        var (y0, y1) = Bounds(Math.Min(ay, by) - half - 1, Math.Max(ay, by) + half + 1, Height, clip?.Y, clip?.H);
        var (dx, dy) = (bx - ax, by - ay);
        var lengthSquared = dx * dx + dy * dy;
        for (var py = y0; py < y1; py++)
        {
            for (var px = x0; px < x1; px++)
            {
                var (cx, cy) = (px + 0.5, py + 0.5);
                var t = lengthSquared == 0 ? 0 : Math.Clamp(((cx - ax) * dx + (cy - ay) * dy) / lengthSquared, 0, 1);
                var (ex, ey) = (cx - (ax + t * dx), cy - (ay + t * dy));
                var coverage = Math.Clamp(half + 0.5 - Math.Sqrt(ex * ex + ey * ey), 0, 1);
                if (coverage > 0) Blend(px, py, color, coverage);
            }
        }
    }

    private void Disc(double cx, double cy, double r, (byte, byte, byte) color, double opacity, (double X, double Y, double W, double H)? clip)
    {
        var (x, y, radius) = (cx * _scale, cy * _scale, r * _scale);
        var (x0, x1) = Bounds(x - radius - 1, x + radius + 1, Width, clip?.X, clip?.W);
        var (y0, y1) = Bounds(y - radius - 1, y + radius + 1, Height, clip?.Y, clip?.H);
        for (var py = y0; py < y1; py++)
        {
            for (var px = x0; px < x1; px++)
            {
                var (ex, ey) = (px + 0.5 - x, py + 0.5 - y);
                var coverage = Math.Clamp(radius + 0.5 - Math.Sqrt(ex * ex + ey * ey), 0, 1);
                if (coverage > 0) Blend(px, py, color, coverage * opacity);
            }
        }
    }

    /// <summary>The pixel range [from, to) within the image and the clip (SVG units).</summary>
    private (int From, int To) Bounds(double from, double to, int size, double? clipStart, double? clipLength)
    {
        if (clipStart is { } start && clipLength is { } length)
        {
            from = Math.Max(from, start * _scale);
            to = Math.Min(to, (start + length) * _scale);
        }
        return ((int)Math.Clamp(Math.Floor(from), 0, size), (int)Math.Clamp(Math.Ceiling(to), 0, size));
    }

    private void Fill(int x0, int y0, int x1, int y1, (byte, byte, byte) color, double opacity)
    {
        for (var y = Math.Max(0, y0); y < Math.Min(Height, y1); y++)
            for (var x = Math.Max(0, x0); x < Math.Min(Width, x1); x++)
                Blend(x, y, color, opacity);
    }

    private void Blend(int x, int y, (byte R, byte G, byte B) color, double alpha)
    {
        var i = (y * Width + x) * 4;
        _rgba[i] = Mix(_rgba[i], color.R, alpha);
        _rgba[i + 1] = Mix(_rgba[i + 1], color.G, alpha);
        _rgba[i + 2] = Mix(_rgba[i + 2], color.B, alpha);
        _rgba[i + 3] = 255;
    }

    private static byte Mix(byte under, byte over, double alpha) => (byte)Math.Round(under + (over - under) * alpha);
}
