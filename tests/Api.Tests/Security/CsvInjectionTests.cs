using System.Net;
using System.Net.Http.Json;
using FitService.Api.Batches;
using FitService.Api.Security;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Security;

/// <summary>Batch results as CSV are safe to open in a spreadsheet: formula-looking text is quoted as text, numbers stay numbers.</summary>
public sealed class CsvInjectionTests(CsvInjectionTests.Service factory) : IClassFixture<CsvInjectionTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "1"));

    private readonly HttpClient _client = factory.CreateClient();

    [Theory]
    [InlineData("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0")]
    [InlineData("+1+2", "'+1+2")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("@SUM(A1:A9)", "'@SUM(A1:A9)")]
    [InlineData("\t=1", "'\t=1")]
    [InlineData("\r=1", "\"'\r=1\"")]
    [InlineData("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("plain label", "plain label")]
    [InlineData("a=b", "a=b")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void FormulaLookingTextGetsALeadingQuoteThenRfc4180Quoting(string? text, string expected) =>
        Assert.Equal(expected, CsvCell.Text(text));

    [Fact]
    public async Task BatchResultsAsCsvNeutralizeFormulaLabelsAndKeepNegativeNumbersAsNumbers()
    {
        // y falls with x: the slope (p0) is negative, and must stay a bare number.
        var labels = new[] { "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "+1", "safe" };
        var body = new
        {
            defaults = new { x = new[] { 0.0, 1.0, 2.0, 3.0 }, y = new[] { 3.0, 1.0, -1.0, -3.0 }, degree = 1, loss = "mse", learningRate = 0.05, steps = 300 },
            fits = labels.Select(l => new { label = l }).ToArray(),
        };
        var submitted = await _client.PostAsJsonAsync("/v1/batches", body);
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var batch = (await submitted.Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!;
        var wait = new HttpRequestMessage(HttpMethod.Get, $"/v1/batches/{batch.Id}");
        wait.Headers.TryAddWithoutValidation("Prefer", "wait=60");
        Assert.Equal("completed", (await (await _client.SendAsync(wait)).Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!.Status);

        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/batches/{batch.Id}/results");
        request.Headers.Accept.ParseAdd("text/csv");
        var rows = (await (await _client.SendAsync(request)).Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n')[1..];

        Assert.Equal(labels.Length, rows.Length);
        foreach (var row in rows)
        {
            var first = row.TrimStart('"');
            Assert.False(first[0] is '=' or '+' or '-' or '@' or '\t' or '\r', $"a cell starts a formula: {row}");
        }
        Assert.StartsWith("'=cmd|' /C calc'!A0,succeeded,", rows[0]);
        Assert.StartsWith("'-2+3+cmd|' /C calc'!A0,", rows[2]);
        Assert.StartsWith("safe,succeeded,", rows[4]);
        var cells = rows[4].Split(',');
        Assert.StartsWith("-", cells[4]);
        Assert.True(double.Parse(cells[4], System.Globalization.CultureInfo.InvariantCulture) < -1.5, $"p0 is the negative slope: {rows[4]}");
    }
}
