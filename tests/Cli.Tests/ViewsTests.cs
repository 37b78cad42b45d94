using System.Text.Json;
using FitService.Cli.Commands;
using FitService.Cli.Output;

namespace FitService.Cli.Tests;

public class ViewsTests
{
    private const string SucceededFitJson = """
        {"id":"f1","status":"succeeded","stopReason":"steps","step":100,"steps":100,
         "params":[2.98,2.01,1.03],"loss":0.951,"history":[2.4219,2.401],"historyEvery":1,
         "createdAt":"2026-11-28T09:15:02.123Z","startedAt":"2026-11-28T09:15:02.200Z","finishedAt":"2026-11-28T09:15:03.000Z",
         "error":null,"label":"lesson","request":{"degree":2,"solver":"descent","loss":"mae","learningRate":0.01,"steps":100,"points":20,"historyEvery":1},
         "learningRateChosen":0.01}
        """;

    private static FitResource SucceededFit => JsonSerializer.Deserialize<FitResource>(SucceededFitJson, FitServiceJson.Options)!;

    private static string Render(Action<Spectre.Console.IAnsiConsole> render)
    {
        var output = new StringWriter();
        render(CliContext.ForWriters(output, TextWriter.Null).Out);
        return output.ToString();
    }

    [Fact]
    public void JsonOutputIsTheFitResourceAsTheServiceWritesIt()
    {
        var text = Render(c => FitCommand.Print(c, new OutputMode(Json: true, Quiet: false, Live: false), SucceededFit));
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal("f1", root.GetProperty("id").GetString());
        Assert.Equal("succeeded", root.GetProperty("status").GetString());
        Assert.Equal([2.98, 2.01, 1.03], root.GetProperty("params").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(0.951, root.GetProperty("loss").GetDouble());
        Assert.Equal(20, root.GetProperty("request").GetProperty("points").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("error").ValueKind);
        Assert.Equal("2026-11-28T09:15:02.123Z", root.GetProperty("createdAt").GetString());
    }

    [Fact]
    public void AHumanReadableFitShowsTheOptimumTheGapTheWarningsAndThePlotAddress()
    {
        var fit = SucceededFit with
        {
            Optimum = new OptimumDto([3.0, 2.0, 1.0], 0.9, null, null, "lad", null),
            Gap = 0.051,
            OptimumStatus = "ready",
            Warnings = ["steps does not apply to solver exact and was ignored"],
        };

        var text = Render(c => FitCommand.Print(c, new OutputMode(Json: false, Quiet: false, Live: false), fit, new Uri("http://127.0.0.1:5080/")));

        Assert.Contains("optimum", text);
        Assert.Contains("loss 0.9 at 3, 2, 1", text);
        Assert.Contains("gap", text);
        Assert.Contains("0.051", text);
        Assert.Contains("steps does not apply to solver exact", text);
        Assert.Contains("http://127.0.0.1:5080/v1/fits/f1/plot.svg", text);
    }

    [Fact]
    public void APendingOptimumSaysWhereToLookLater()
    {
        var text = Render(c => Views.Fit(c, SucceededFit with { OptimumStatus = "pending" }));

        Assert.Contains("fitctl get f1 shows it", text);
    }

    [Fact]
    public void JsonOutputOfAListedFitHasNoHistory()
    {
        var fit = SucceededFit with { History = null };
        var text = Render(c => Views.Json(c, new FitList([fit], "c2")));
        using var json = JsonDocument.Parse(text);
        Assert.False(json.RootElement.GetProperty("items")[0].TryGetProperty("history", out _));
        Assert.Equal("c2", json.RootElement.GetProperty("next").GetString());
    }

    [Fact]
    public void HumanOutputShowsStatusParamsLossAndTheModel()
    {
        var text = Render(c => Views.Fit(c, SucceededFit));
        Assert.Contains("f1  (lesson)", text);
        Assert.Contains("succeeded (steps)", text);
        Assert.Contains("100/100", text);
        Assert.Contains("0.951", text);
        Assert.Contains("2.98, 2.01, 1.03", text);
        Assert.Contains("2.98·x² + 2.01·x + 1.03", text);
        Assert.Contains("0.01 (chosen by the finder)", text);
    }

    [Fact]
    public void HumanOutputOfAFormulaFitNamesItsParams()
    {
        var fit = SucceededFit with { Request = SucceededFit.Request with { Degree = null, Model = new ModelDto { Formula = "a*exp(b*x) + c", Params = ["a", "b", "c"] } } };
        var text = Render(c => Views.Fit(c, fit));
        Assert.Contains("a = 2.98, b = 2.01, c = 1.03", text);
        Assert.Contains("a*exp(b*x) + c", text);
    }

    [Fact]
    public void HumanOutputOfAFailedFitShowsTheError()
    {
        var fit = SucceededFit with { Status = "failed", StopReason = "diverged", Error = "loss became non-finite at step 12; try a smaller learning rate" };
        var text = Render(c => Views.Fit(c, fit));
        Assert.Contains("failed (diverged)", text);
        Assert.Contains("try a smaller learning rate", text);
    }

    [Theory]
    [InlineData(new[] { 2.98, 2.01, 1.03 }, "2.98·x² + 2.01·x + 1.03")]
    [InlineData(new[] { -1.0, 0.0, -0.5, 2.0 }, "-1·x³ + 0·x² - 0.5·x + 2")]
    [InlineData(new[] { 4.0 }, "4")]
    [InlineData(new[] { 1.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, "1·x¹¹ + 0·x¹⁰ + 0·x⁹ + 0·x⁸ + 0·x⁷ + 0·x⁶ + 0·x⁵ + 0·x⁴ + 0·x³ + 0·x² + 0·x + 0")]
    public void ThePolynomialReadsHighestPowerFirst(double[] p, string expected)
    {
        Assert.Equal(expected, Views.Polynomial(p));
    }

    [Fact]
    public void NumbersShowSixSignificantDigitsInTheInvariantCulture()
    {
        Assert.Equal("3.14159", Views.Number(Math.PI));
        Assert.Equal("1.5E-07", Views.Number(1.5e-7));
    }

    [Fact]
    public void HistoryRowsFromSeveralPagesBecomeTheServiceCsv()
    {
        Assert.Equal("step,loss\n0,2.4219\n10,0.5\n", FitResourceCommands.HistoryCsv([new HistoryEntry(0, 2.4219), new HistoryEntry(10, 0.5)]));
    }

    [Theory]
    [InlineData("results.csv", "text/csv")]
    [InlineData("results.CSV", "text/csv")]
    [InlineData("results.jsonl", "application/x-ndjson")]
    [InlineData("out/results.ndjson", "application/x-ndjson")]
    [InlineData("results.json", "application/x-ndjson")]
    [InlineData("-", "text/csv")]
    public void BatchResultsAreAskedForInTheFormatTheFileNameSays(string destination, string mediaType)
    {
        Assert.Equal(mediaType, BatchCommand.ResultsMediaType(destination));
    }

    [Fact]
    public void BatchResultsShowOneRowPerFile()
    {
        var text = Render(c => Views.BatchResults(c,
        [
            new BatchResult(0, "f1", "data/a.csv", "succeeded", "steps", 0.5, [1, 2], null),
            new BatchResult(1, "f2", "data/b.csv", "failed", "diverged", null, null, "diverged"),
        ]));
        Assert.Contains("data/a.csv", text);
        Assert.Contains("1, 2", text);
        Assert.Contains("failed (diverged)", text);
    }

    [Fact]
    public void AFallingLossDrawsBarsThatNeverRise()
    {
        var history = Enumerable.Range(0, 500).Select(i => (double?)(100 * Math.Exp(-i / 50.0) + 0.01)).ToArray();

        var line = Views.Sparkline(history, 40);

        Assert.Equal(40, line.Length);
        Assert.Equal('█', line[0]);
        Assert.Equal('▁', line[^1]);
        for (var i = 1; i < line.Length; i++) Assert.True(line[i] <= line[i - 1], line);
    }

    [Fact]
    public void ASparklineIsNeverWiderThanAskedNorThanTheHistory()
    {
        Assert.Equal(3, Views.Sparkline([3.0, 2.0, 1.0], 80).Length);
        Assert.Equal(80, Views.Sparkline(Enumerable.Repeat((double?)1.0, 100_000).ToArray(), 80).Length);
        Assert.Equal("", Views.Sparkline([], 80));
        Assert.Equal("", Views.Sparkline([1.0], 0));
    }

    [Fact]
    public void FlatNegativeAndNonFiniteLossesStillDraw()
    {
        Assert.Equal("▁▁▁", Views.Sparkline([2.0, 2.0, 2.0], 10));
        Assert.Equal("█▁", Views.Sparkline([1.0, -1.0], 10)); // a value ≤ 0: linear scale
        Assert.Equal("█▁ ", Views.Sparkline([10.0, 1.0, null], 10)); // a diverged fit's last entry
        Assert.Equal("", Views.Sparkline([null, double.NaN], 10));
    }

    [Fact]
    public void TheLossLineShowsTheFirstAndLastLoss()
    {
        var text = Render(c => Views.LossLine(c, SucceededFit));

        Assert.Contains("loss 2.4219 █▁ 2.401", text);
    }
}
