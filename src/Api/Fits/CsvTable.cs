using System.Globalization;
using System.Text;

namespace FitService.Api.Fits;

/// <summary>
/// A CSV body as spreadsheets and pandas write it: comma, semicolon or tab (whichever the first line uses most, outside
/// quotes), RFC 4180 quoted fields (<c>"a, b"</c>, <c>""</c> for a quote, line breaks inside quotes), an optional header row
/// (detected: a first row with a cell that is not a number), a UTF-8 byte-order mark ignored.
/// </summary>
public sealed class CsvTable
{
    private CsvTable(string[]? header, List<(int Line, string[] Cells)> rows, char delimiter)
    {
        Header = header;
        Rows = rows;
        Delimiter = delimiter;
    }

    /// <summary>The header's cells, or null when the first row holds numbers.</summary>
    public string[]? Header { get; }

    /// <summary>The data rows with the line each starts on (1-based, counting the header).</summary>
    public List<(int Line, string[] Cells)> Rows { get; }

    public char Delimiter { get; }

    /// <summary>The table, or null when the body is not UTF-8. At most <paramref name="maxRows"/> + 1 rows are kept, so the caller can say "too many".</summary>
    public static CsvTable? Parse(byte[] body, int maxRows)
    {
        string text;
        try { text = new UTF8Encoding(false, true).GetString(body); }
        catch (DecoderFallbackException) { return null; }
        if (text.StartsWith('\uFEFF')) text = text[1..];
        var delimiter = DetectDelimiter(text);
        var records = Records(text, delimiter, maxRows + 2).ToList();
        string[]? header = null;
        if (records.Count > 0 && records[0].Cells.Any(c => c.Trim().Length > 0 && !IsNumber(c)))
        {
            header = [.. records[0].Cells.Select(c => c.Trim())];
            records.RemoveAt(0);
        }
        return new CsvTable(header, records, delimiter);
    }

    /// <summary>
    /// The index of the column <paramref name="choice"/> names (a header name, else a 0-based index), or of
    /// <paramref name="fallback"/> when no choice was made; null with an error otherwise.
    /// </summary>
    public int? Column(string? choice, int fallback, string field, ValidationErrors errors)
    {
        var width = Header?.Length ?? Rows.FirstOrDefault().Cells?.Length ?? 0;
        if (choice is null)
        {
            if (fallback < width) return fallback;
            errors.Add(field, $"the CSV has {width} column{(width == 1 ? "" : "s")}: name the {field} column (?{field}=NAME or a 0-based index)");
            return null;
        }
        if (Header is not null)
        {
            var named = Array.FindIndex(Header, h => string.Equals(h, choice, StringComparison.Ordinal));
            if (named < 0) named = Array.FindIndex(Header, h => string.Equals(h, choice, StringComparison.OrdinalIgnoreCase));
            if (named >= 0) return named;
        }
        if (int.TryParse(choice, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < width) return index;
        var known = Header is null ? $"the CSV has no header; give a 0-based index below {width}" : $"columns are {string.Join(", ", Header.Take(50).Select(h => $"'{h}'"))}";
        var close = Header is null ? null : KnownFields.Closest(choice, Header);
        errors.Add(field, $"no column '{choice}': {known}{(close is null ? "" : $"; did you mean '{close}'?")}");
        return null;
    }

    /// <summary>
    /// The columns <paramref name="choice"/> names, comma-separated (<c>age,fare</c>: names or 0-based indexes; a header that itself
    /// holds the whole choice, commas and all, is that one column), or <paramref name="fallback"/>; null with errors otherwise.
    /// </summary>
    public int[]? Columns(string? choice, int fallback, string field, ValidationErrors errors)
    {
        if (choice is null || !choice.Contains(',') || Header?.Contains(choice) == true)
            return Column(choice, fallback, field, errors) is { } single ? [single] : null;
        var names = choice.Split(',', StringSplitOptions.TrimEntries);
        if (names.Any(n => n.Length == 0))
        {
            errors.Add(field, $"'{choice}' has an empty column name: name the columns as ?{field}=age,fare");
            return null;
        }
        if (names.Length > MaxChosenColumns)
        {
            errors.Add(field, $"names {names.Length} columns; at most {MaxChosenColumns} may be chosen");
            return null;
        }
        var columns = names.Select(n => Column(n, fallback, field, errors)).ToArray();
        if (columns.Any(c => c is null)) return null;
        var repeated = columns.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
        {
            errors.Add(field, $"names column {Name(repeated.Key!.Value)} more than once");
            return null;
        }
        return [.. columns.Select(c => c!.Value)];
    }

    /// <summary>Most columns one query field may choose (the validator bounds the features further).</summary>
    public const int MaxChosenColumns = 4096;

    /// <summary>The name of a column for messages: its header, or its index.</summary>
    public string Name(int column) => Header is not null && column < Header.Length ? $"'{Header[column]}'" : $"{column}";

    /// <summary>
    /// The numbers in <paramref name="columns"/> of every row (one array per column); bad or missing cells are errors naming
    /// the line and the column, listed up to <see cref="ValidationErrors.MaxListed"/>, the rest counted.
    /// </summary>
    public double[][] Numbers(IReadOnlyList<int> columns, ValidationErrors errors, string field = "body")
    {
        var values = columns.Select(_ => new double[Rows.Count]).ToArray();
        for (var r = 0; r < Rows.Count; r++)
        {
            var (line, cells) = Rows[r];
            for (var c = 0; c < columns.Count; c++)
            {
                var column = columns[c];
                var missing = column >= cells.Length;
                if (!missing && double.TryParse(cells[column].AsSpan().Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out values[c][r])
                    && double.IsFinite(values[c][r])) continue;
                // Past the cap the error is only counted (errorsOmitted), never composed.
                errors.Add(field, () => missing
                    ? $"line {line}: no column {Name(column)} (the row has {cells.Length} cell{(cells.Length == 1 ? "" : "s")})"
                    : $"line {line}: column {Name(column)} is '{Truncate(cells[column].Trim())}', not a finite number");
                break;
            }
        }
        return values;
    }

    /// <summary>Columns side by side as rows, row-major.</summary>
    public static double[] Interleave(double[][] columns)
    {
        var rows = columns[0].Length;
        var values = new double[rows * columns.Length];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < columns.Length; c++) values[r * columns.Length + c] = columns[c][r];
        return values;
    }

    private static bool IsNumber(string cell) => double.TryParse(cell.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>Of comma, semicolon and tab, the one the first line holds most often outside quotes (comma when none).</summary>
    private static char DetectDelimiter(string text)
    {
        int comma = 0, semicolon = 0, tab = 0;
        var quoted = false;
        foreach (var ch in text)
        {
            if (ch == '"') quoted = !quoted;
            else if (!quoted && ch is '\n' or '\r') break;
            else if (!quoted && ch == ',') comma++;
            else if (!quoted && ch == ';') semicolon++;
            else if (!quoted && ch == '\t') tab++;
        }
        return tab > semicolon && tab > comma ? '\t' : semicolon > comma ? ';' : ',';
    }

    /// <summary>RFC 4180 records, blank lines skipped, each with the line it starts on; at most <paramref name="limit"/>.</summary>
    private static IEnumerable<(int Line, string[] Cells)> Records(string text, char delimiter, int limit)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        var blank = true; // the cell so far is white space only (a quote there opens a quoted field)
        var line = 1;
        var start = 1;
        var quoted = false;
        var count = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            var end = i == text.Length;
            var ch = end ? '\n' : text[i];
            if (quoted && !end)
            {
                if (ch == '"' && i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); blank = false; i++; }
                else if (ch == '"') quoted = false;
                else
                {
                    if (ch == '\n') line++;
                    cell.Append(ch);
                    blank &= char.IsWhiteSpace(ch);
                }
                continue;
            }
            if (ch == '"' && blank) { cell.Clear(); quoted = true; }
            else if (ch == delimiter) { cells.Add(cell.ToString()); cell.Clear(); blank = true; }
            else if (ch == '\r') { }
            else if (ch == '\n')
            {
                cells.Add(cell.ToString());
                cell.Clear();
                blank = true;
                if (cells.Count > 1 || cells[0].Trim().Length > 0)
                {
                    yield return (start, cells.ToArray());
                    if (++count >= limit) yield break;
                }
                cells.Clear();
                line++;
                start = line;
            }
            else
            {
                cell.Append(ch);
                blank &= char.IsWhiteSpace(ch);
            }
        }
    }
}
