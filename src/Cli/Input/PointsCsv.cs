using System.Globalization;

namespace FitService.Cli.Input;

/// <summary>
/// The points of one data set; <paramref name="Features"/> x values a point, row-major in <paramref name="X"/>; with their
/// weights when a weights column was chosen.
/// </summary>
internal sealed record Points(double[] X, double[] Y, int Features = 1, double[]? Weights = null)
{
    public int Count => Y.Length;

    /// <summary>x as the wire takes it: numbers for one column, rows for several.</summary>
    public XValues WireX => Features == 1 ? X : new XValues(X, Features);
}

/// <summary>A points file that cannot be read; the message names the file and the line.</summary>
internal sealed class PointsFormatException(string source, int line, string reason)
    : Exception(line > 0 ? $"{source}:{line}: {reason}" : $"{source}: {reason}")
{
    public string SourceName { get; } = source;
    public int Line { get; } = line;
    public string Reason { get; } = reason;
}

/// <summary>Reads <c>x,y</c> rows, or two columns of a wider table chosen by name or index. The header is optional (a first row that is not all numbers), blank lines and
/// <c>#</c> comments are skipped, values may be padded with spaces or quoted, and rows may also be separated by
/// <c>;</c>, tabs or spaces. Numbers use the invariant culture (a dot for decimals) and must be finite.</summary>
internal static class PointsCsv
{
    public const string StandardInput = "-";

    public static Points Load(string path, TextReader? stdin = null, string? xColumn = null, string? yColumn = null, string? weightsColumn = null)
    {
        if (path == StandardInput)
            return Parse(stdin ?? Console.In, "<stdin>", xColumn, yColumn, weightsColumn);
        if (!File.Exists(path))
            throw new PointsFormatException(path, 0, "no such file");
        using var reader = new StreamReader(path);
        return Parse(reader, path, xColumn, yColumn, weightsColumn);
    }

    /// <summary>
    /// Reads the points. <paramref name="xColumn"/> and <paramref name="yColumn"/> choose the columns by header name or
    /// 0-based index (<paramref name="xColumn"/> may name several, <c>age,fare</c>: the features of a network); without them a
    /// file of exactly two columns is x,y, and a wider one needs a header with x and y.
    /// <paramref name="weightsColumn"/>, when given, chooses a column of weights the same way.
    /// </summary>
    public static Points Parse(TextReader reader, string source, string? xColumn = null, string? yColumn = null, string? weightsColumn = null)
    {
        var x = new List<double>();
        var y = new List<double>();
        var w = new List<double>();
        int? wi = null;
        var lineNumber = 0;
        var sawRow = false;
        int[]? xs = null;
        int? yi = null;
        string[]? header = null;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            var text = line.Trim();
            if (text.Length == 0 || text[0] == '#')
                continue;
            var fields = Split(text);
            var firstRow = !sawRow;
            sawRow = true;
            if (firstRow && !fields.All(IsNumber))
            {
                header = fields; // a header such as "x,y" or "day,temp,sales"
                continue;
            }
            xs ??= Columns(xColumn, header, fields.Length, source, lineNumber);
            yi ??= Column(yColumn, "y", 1, header, fields.Length, source, lineNumber);
            if (weightsColumn is not null) wi ??= Column(weightsColumn, "weights", -1, header, fields.Length, source, lineNumber);
            var chosen = xColumn is not null || yColumn is not null || weightsColumn is not null || header is not null && header.Length != 2;
            if (!chosen && fields.Length != 2)
                throw new PointsFormatException(source, lineNumber, $"expected 2 values (x,y), found {fields.Length}: '{text}' (choose the columns with --x and --y)");
            var needed = Math.Max(Math.Max(xs.Max(), yi.Value), wi ?? -1) + 1;
            if (fields.Length < needed)
                throw new PointsFormatException(source, lineNumber, $"expected at least {needed} values, found {fields.Length}: '{text}'");
            foreach (var xi in xs) x.Add(ParseValue(fields[xi], Name(header, xi, "x"), source, lineNumber));
            y.Add(ParseValue(fields[yi.Value], Name(header, yi.Value, "y"), source, lineNumber));
            if (wi is { } weightIndex) w.Add(ParseValue(fields[weightIndex], Name(header, weightIndex, "weights"), source, lineNumber));
        }
        if (x.Count == 0)
            throw new PointsFormatException(source, 0, "no points (expected rows of x,y)");
        return new Points([.. x], [.. y], xs!.Length, wi is null ? null : [.. w]);
    }

    /// <summary>The x columns: one, or several named as <c>age,fare</c> (names or indexes) for a network of many features.</summary>
    private static int[] Columns(string? choice, string[]? header, int width, string source, int line)
    {
        if (choice is null || !choice.Contains(',') || header?.Contains(choice) == true)
            return [Column(choice, "x", 0, header, width, source, line)];
        var columns = choice.Split(',', StringSplitOptions.TrimEntries).Select(c => Column(c, "x", 0, header, width, source, line)).ToArray();
        if (columns.Distinct().Count() != columns.Length)
            throw new PointsFormatException(source, line, $"--x {choice}: a column is named twice");
        return columns;
    }

    /// <summary>The column <paramref name="choice"/> names (header name first, then a 0-based index), or the default.</summary>
    private static int Column(string? choice, string role, int fallback, string[]? header, int width, string source, int line)
    {
        if (choice is null)
        {
            var named = header is null ? -1 : Array.FindIndex(header, h => string.Equals(h, role, StringComparison.OrdinalIgnoreCase));
            if (named >= 0) return named;
            if (header is not null && header.Length > 2)
                throw new PointsFormatException(source, line, $"{header.Length} columns ({string.Join(", ", header)}): choose with --x and --y");
            return fallback;
        }
        if (header is not null)
        {
            var named = Array.FindIndex(header, h => string.Equals(h, choice, StringComparison.Ordinal));
            if (named < 0) named = Array.FindIndex(header, h => string.Equals(h, choice, StringComparison.OrdinalIgnoreCase));
            if (named >= 0) return named;
        }
        if (int.TryParse(choice, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < width)
            return index;
        throw new PointsFormatException(source, line, header is null
            ? $"--{role} {choice}: the file has no header; give a 0-based column index below {width}"
            : $"--{role} {choice}: no such column; the columns are {string.Join(", ", header)}");
    }

    private static string Name(string[]? header, int column, string role) =>
        header is not null && column < header.Length && header[column].Length > 0 ? header[column] : role;

    /// <summary>Cells separated by comma, else semicolon, else tab, else spaces; double quotes protect separators inside a cell.</summary>
    private static string[] Split(string text)
    {
        var separator = text.Contains(',') ? ',' : text.Contains(';') ? ';' : text.Contains('\t') ? '\t' : (char?)null;
        if (separator is null)
            return text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(f => f.Trim('"')).ToArray();
        var fields = new List<string>();
        var cell = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (ch == '"' && quoted && i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); i++; }
            else if (ch == '"') quoted = !quoted;
            else if (ch == separator && !quoted) { fields.Add(cell.ToString().Trim()); cell.Clear(); }
            else cell.Append(ch);
        }
        fields.Add(cell.ToString().Trim());
        while (fields.Count > 2 && fields[^1].Length == 0)
            fields.RemoveAt(fields.Count - 1); // tolerate a trailing separator
        return [.. fields];
    }

    private static bool IsNumber(string field) =>
        double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static double ParseValue(string field, string name, string source, int line)
    {
        if (!double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            throw new PointsFormatException(source, line, $"{name} is not a number: '{field}'");
        if (!double.IsFinite(value))
            throw new PointsFormatException(source, line, $"{name} is not finite: '{field}'");
        return value;
    }
}
