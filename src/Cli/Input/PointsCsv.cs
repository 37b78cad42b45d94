using System.Globalization;

namespace FitService.Cli.Input;

/// <summary>The points of one data set.</summary>
internal sealed record Points(double[] X, double[] Y)
{
    public int Count => X.Length;
}

/// <summary>A points file that cannot be read; the message names the file and the line.</summary>
internal sealed class PointsFormatException(string source, int line, string reason)
    : Exception(line > 0 ? $"{source}:{line}: {reason}" : $"{source}: {reason}")
{
    public string SourceName { get; } = source;
    public int Line { get; } = line;
    public string Reason { get; } = reason;
}

/// <summary>Reads <c>x,y</c> rows. The header is optional (a first row that is not two numbers), blank lines and
/// <c>#</c> comments are skipped, values may be padded with spaces or quoted, and rows may also be separated by
/// <c>;</c>, tabs or spaces. Numbers use the invariant culture (a dot for decimals) and must be finite.</summary>
internal static class PointsCsv
{
    public const string StandardInput = "-";

    public static Points Load(string path, TextReader? stdin = null)
    {
        if (path == StandardInput)
            return Parse(stdin ?? Console.In, "<stdin>");
        if (!File.Exists(path))
            throw new PointsFormatException(path, 0, "no such file");
        using var reader = new StreamReader(path);
        return Parse(reader, path);
    }

    public static Points Parse(TextReader reader, string source)
    {
        var x = new List<double>();
        var y = new List<double>();
        var lineNumber = 0;
        var sawRow = false;
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
                continue; // a header such as "x,y"
            if (fields.Length != 2)
                throw new PointsFormatException(source, lineNumber, $"expected 2 values (x,y), found {fields.Length}: '{text}'");
            x.Add(ParseValue(fields[0], "x", source, lineNumber));
            y.Add(ParseValue(fields[1], "y", source, lineNumber));
        }
        if (x.Count == 0)
            throw new PointsFormatException(source, 0, "no points (expected rows of x,y)");
        return new Points([.. x], [.. y]);
    }

    private static string[] Split(string text)
    {
        var separator = text.Contains(',') ? ',' : text.Contains(';') ? ';' : (char?)null;
        var fields = separator is { } s
            ? text.Split(s)
            : text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var trimmed = fields.Select(f => f.Trim().Trim('"').Trim()).ToList();
        while (trimmed.Count > 2 && trimmed[^1].Length == 0)
            trimmed.RemoveAt(trimmed.Count - 1); // tolerate a trailing separator
        return [.. trimmed];
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
