namespace FitService.Api.Security;

/// <summary>
/// A text cell of a CSV answer, safe to open in a spreadsheet (OWASP "CSV injection"): a cell that starts with
/// <c>= + - @</c>, a tab or a carriage return gets a leading <c>'</c>, so Excel, LibreOffice and Sheets show it as
/// text instead of running it as a formula; then RFC 4180 quoting. Numeric cells are written as numbers, never
/// through this (a negative loss or parameter must stay a number).
/// </summary>
public static class CsvCell
{
    private static readonly char[] FormulaStarts = ['=', '+', '-', '@', '\t', '\r'];
    private static readonly char[] NeedsQuotes = [',', '"', '\n', '\r'];

    public static string Text(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        if (Array.IndexOf(FormulaStarts, text[0]) >= 0) text = "'" + text;
        return text.IndexOfAny(NeedsQuotes) >= 0 ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;
    }
}
