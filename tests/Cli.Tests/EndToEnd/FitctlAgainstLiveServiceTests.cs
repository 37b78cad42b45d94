using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace FitService.Cli.Tests.EndToEnd;

/// <summary>fitctl and the example scripts against a real FitService (see <see cref="LiveServiceFactAttribute"/>).
/// Each test makes its own data and fits, labelled with a fresh run id, so tests do not see each other's fits.</summary>
[Collection(LiveServiceCollection.Name)]
public sealed class FitctlAgainstLiveServiceTests(LiveService service) : IDisposable
{
    /// <summary>The lesson's data: f(x) = 3x² + 2x + 1 with numpy's seed-42 noise, 20 points on [-2, 2]; MAE 2.42 at (1.1, 1.1, 1.1).</summary>
    private static readonly double[] LessonX = [-2.0, -1.7895, -1.5789, -1.3684, -1.1579, -0.9474, -0.7368, -0.5263, -0.3158, -0.1053, 0.1053, 0.3158, 0.5263, 0.7368, 0.9474, 1.1579, 1.3684, 1.5789, 1.7895, 2.0];
    private static readonly double[] LessonY = [11.8690, 6.5433, 5.9396, 2.6304, 1.7947, 1.9010, -0.2977, 1.4315, -0.2804, 0.4521, 0.2547, 4.5743, 2.9681, 1.3385, 5.3754, 4.8878, 8.2467, 9.2462, 10.2612, 13.6939];

    private readonly string _server = service.Url;
    private readonly string? _apiKey = service.ApiKey;
    private readonly string _dir = Directory.CreateTempSubdirectory("fitctl-e2e-").FullName;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Result(int ExitCode, string Out, string Err)
    {
        public JsonElement Json => JsonDocument.Parse(Out).RootElement;
    }

    private async Task<Result> Fitctl(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        string[] connection = _apiKey is null ? ["--server", _server] : ["--server", _server, "--api-key", _apiKey];
        var exitCode = await FitCtl.RunAsync([.. args, .. connection], CliContext.ForWriters(output, error, _ => null));
        return new Result(exitCode, output.ToString(), error.ToString());
    }

    private string WritePoints(string name, IEnumerable<double> x, IEnumerable<double> y)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, ["x,y", .. x.Zip(y, (a, b) => FormattableString.Invariant($"{a},{b}"))]);
        return path;
    }

    private string LessonPoints() => WritePoints("lesson.csv", LessonX, LessonY);

    [LiveServiceFact]
    public async Task FitFollowsTheLessonFitToTheEndAndPrintsParamsAndLoss()
    {
        var r = await Fitctl("fit", LessonPoints(), "--degree", "2", "--loss", "mae", "--lr", "0.01", "--steps", "10",
            "--initial-params", "1.1,1.1,1.1", "--momentum", "1", "--label", $"e2e {_run} lesson", "--json");

        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal("succeeded", r.Json.GetProperty("status").GetString());
        Assert.Equal("steps", r.Json.GetProperty("stopReason").GetString());
        Assert.Equal(3, r.Json.GetProperty("params").GetArrayLength());
        var loss = r.Json.GetProperty("loss").GetDouble();
        Assert.InRange(loss, 0, 2.42);
    }

    [LiveServiceFact]
    public async Task FitWithoutJsonPrintsAReadableSummary()
    {
        var r = await Fitctl("fit", LessonPoints(), "-d", "2", "-l", "mse", "--lr", "0.01", "-n", "20", "--label", $"e2e {_run} human");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("succeeded (steps)", r.Out);
        Assert.Contains("·x²", r.Out);
        Assert.Contains("/plot.svg", r.Out);
        Assert.Contains("optimum", r.Out);
    }

    [LiveServiceFact]
    public async Task FitSendsAWeightsColumnAndTheServiceFitsTheWeightedMean()
    {
        var path = Path.Combine(_dir, "weighted.csv");
        // The last point is far off and has weight 0: the weighted fit goes through the other three exactly.
        File.WriteAllLines(path, ["x;count;y", "0;1;1", "1;2;3", "2;1;5", "3;0;100"]);

        var r = await Fitctl("fit", path, "--y", "y", "--w", "count", "--degree", "1", "--lr", "0.1", "--steps", "2000",
            "--label", $"e2e {_run} weighted", "--json");

        Assert.True(r.ExitCode == 0, r.Err);
        Assert.True(r.Json.GetProperty("request").GetProperty("weighted").GetBoolean());
        var parameters = r.Json.GetProperty("params").EnumerateArray().Select(p => p.GetDouble()).ToArray();
        Assert.Equal(2.0, parameters[0], 6);
        Assert.Equal(1.0, parameters[1], 6);
    }

    [LiveServiceFact]
    public async Task PlotWritesAPngThatShowsThePointsAndTheCurveAndAnSvg()
    {
        var fit = await Fitctl("fit", LessonPoints(), "--solver", "exact", "--label", $"e2e {_run} plot", "--json");
        Assert.True(fit.ExitCode == 0, fit.Err);
        var id = fit.Json.GetProperty("id").GetString()!;
        var png = Path.Combine(_dir, "fit.png");
        var svg = Path.Combine(_dir, "fit.svg");

        var asPng = await Fitctl("plot", id, "--out", png);
        var asSvg = await Fitctl("plot", id, "--out", svg);

        Assert.True(asPng.ExitCode == 0, asPng.Err);
        Assert.True(asSvg.ExitCode == 0, asSvg.Err);
        Assert.StartsWith("<?xml", File.ReadAllText(svg));
        var (width, height, rgba) = PngPlotTests.Decode(File.ReadAllBytes(png));
        Assert.Equal((1440, 880), (width, height));
        int Count(byte r, byte g, byte b, int x0, int x1) =>
            Enumerable.Range(0, height).Sum(y => Enumerable.Range(x0, x1 - x0).Count(x => rgba[(y * width + x) * 4] == r && rgba[(y * width + x) * 4 + 1] == g && rgba[(y * width + x) * 4 + 2] == b));
        // The fitted curve (#d62728) runs across the plot: it has pixels in every tenth of its width; the 20 points (#1f77b4) are there.
        for (var tenth = 0; tenth < 10; tenth++)
        {
            var (x0, x1) = (2 * 72 + tenth * (2 * 624) / 10, 2 * 72 + (tenth + 1) * (2 * 624) / 10);
            Assert.True(Count(0xd6, 0x27, 0x28, x0, x1) > 0, $"no curve between pixel columns {x0} and {x1}");
        }
        Assert.True(Count(0x1f, 0x77, 0xb4, 0, width) > 20 * 4, "the points are missing");
    }

    [LiveServiceFact]
    public async Task PlotRefusesAnOutputThatIsNeitherPngNorSvg()
    {
        var r = await Fitctl("plot", "some-id", "--out", "fit.jpg");

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains(".png or .svg", r.Err);
    }

    [LiveServiceFact]
    public async Task AFormulaFitWithAnAutomaticRateShowsItsNamedParamsAndTheChosenRate()
    {
        var x = Enumerable.Range(0, 12).Select(i => i * 0.25).ToArray();
        var points = WritePoints("growth.csv", x, x.Select(v => 2 * Math.Exp(0.5 * v) + 1));

        var r = await Fitctl("fit", points, "--formula", "a*exp(b*x) + c", "--params", "a,b,c", "--loss", "mse", "--lr", "auto",
            "--steps", "300", "--optimizer", "adam", "--label", $"e2e {_run} formula");

        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("succeeded", r.Out);
        Assert.Contains("a*exp(b*x) + c", r.Out);
        Assert.Matches(@"a = [-\d.]+, b = [-\d.]+, c = [-\d.]+", r.Out);
        Assert.Contains("(chosen by the finder)", r.Out);
    }

    [LiveServiceFact]
    public async Task TheExactSolverNeedsNoRateOrSteps()
    {
        var r = await Fitctl("fit", LessonPoints(), "--degree", "2", "--loss", "mse", "--solver", "exact", "--label", $"e2e {_run} exact", "--json");

        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal("succeeded", r.Json.GetProperty("status").GetString());
        Assert.Equal("exact", r.Json.GetProperty("request").GetProperty("solver").GetString());
        Assert.Equal(3, r.Json.GetProperty("params").GetArrayLength());
    }

    [LiveServiceFact]
    public async Task AnInvalidRequestShowsTheServiceFieldErrorsAndExitsTwo()
    {
        var r = await Fitctl("fit", LessonPoints(), "--degree", "2", "--loss", "mae", "--lr", "-1", "--steps", "10");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("Error: ", r.Err);
        Assert.Contains("learningRate: ", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [LiveServiceFact]
    public async Task AFitThatDivergesExitsOneWithTheServiceExplanation()
    {
        var r = await Fitctl("fit", LessonPoints(), "--degree", "2", "--loss", "mse", "--lr", "1e6", "--steps", "1000", "--label", $"e2e {_run} diverge");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("failed (diverged)", r.Out);
    }

    [LiveServiceFact]
    public async Task BatchWritesOneResultRowPerFile()
    {
        var files = Enumerable.Range(1, 3)
            .Select(k => WritePoints($"set{k}.csv", LessonX, LessonX.Select(x => k * x * x + 1)))
            .ToList();
        var results = Path.Combine(_dir, "results.csv");

        var r = await Fitctl(["batch", .. files, "--degree", "2", "--loss", "mse", "--lr", "0.01", "--steps", "50", "--out", results]);

        Assert.True(r.ExitCode == 0, r.Err);
        var lines = File.ReadAllLines(results).Where(l => l.Length > 0).ToList();
        Assert.StartsWith("label,status,stopReason,loss,p0", lines[0]);
        Assert.Equal(files.Order(), lines.Skip(1).Select(l => l.Split(',')[0].Trim('"')).Order());
        Assert.All(lines.Skip(1), l => Assert.Equal("succeeded", l.Split(',')[1]));
    }

    [LiveServiceFact]
    public async Task GetListHistoryAndDeleteWorkOnASubmittedFit()
    {
        var label = $"e2e {_run} lifecycle";
        var submitted = await Fitctl("fit", LessonPoints(), "-d", "2", "-l", "mae", "--lr", "0.01", "-n", "30", "--label", label, "--no-wait", "--json");
        Assert.True(submitted.ExitCode == 0, submitted.Err);
        var id = submitted.Json.GetProperty("id").GetString()!;

        var got = await Fitctl("get", id, "--wait", "30", "--json");
        Assert.True(got.ExitCode == 0, got.Err);
        Assert.Equal("succeeded", got.Json.GetProperty("status").GetString());

        var listed = await Fitctl("list", "--label", label, "--json");
        Assert.True(listed.ExitCode == 0, listed.Err);
        Assert.Contains(id, listed.Json.GetProperty("items").EnumerateArray().Select(f => f.GetProperty("id").GetString()));

        var csv = await Fitctl("history", id, "--csv");
        Assert.True(csv.ExitCode == 0, csv.Err);
        var rows = csv.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("step,loss", rows[0].Trim());
        Assert.Equal(31, rows.Length);
        Assert.Equal(0, long.Parse(rows[1].Split(',')[0], CultureInfo.InvariantCulture));

        var history = await Fitctl("history", id, "--all", "--json");
        Assert.Equal(30, history.Json.GetProperty("items").GetArrayLength());

        Assert.Equal(0, (await Fitctl("delete", id)).ExitCode);
        var gone = await Fitctl("get", id);
        Assert.Equal(3, gone.ExitCode);
        Assert.Contains("(HTTP 404)", gone.Err);
    }

    [LiveServiceFact]
    public async Task CancelStopsALongFit()
    {
        var x = Enumerable.Range(0, 10_000).Select(i => i / 5000.0 - 1).ToArray();
        var submitted = await Fitctl("fit", WritePoints("long.csv", x, x.Select(v => 2 * v + 1)), "-d", "5", "-l", "mse", "--lr", "1e-4", "-n", "10000000",
            "--label", $"e2e {_run} cancel", "--no-wait", "--json");
        Assert.True(submitted.ExitCode == 0, submitted.Err);
        var id = submitted.Json.GetProperty("id").GetString()!;

        var cancelled = await Fitctl("cancel", id, "--json");
        Assert.True(cancelled.ExitCode == 0, cancelled.Err);
        var ended = await Fitctl("get", id, "--wait", "30", "--json");
        Assert.Equal("cancelled", ended.Json.GetProperty("status").GetString());

        var again = await Fitctl("cancel", id);
        Assert.Equal(3, again.ExitCode);
        Assert.Contains("(HTTP 409)", again.Err);
        await Fitctl("delete", id);
    }

    [LiveServiceFact("bash", "curl", "jq")]
    public async Task TheFitExampleScriptPrintsParamsAndLoss()
    {
        var (exitCode, output, error) = await RunScript("bash", "examples/fit.sh");
        Assert.True(exitCode == 0, error);
        Assert.Contains("params", output);
        Assert.Contains("loss", output);
    }

    [LiveServiceFact("python3")]
    public async Task TheBatchExampleScriptWritesAResultsCsv()
    {
        var results = Path.Combine(_dir, "batch-results.csv");
        var plot = Path.Combine(_dir, "first.svg");
        var (exitCode, output, error) = await RunScript("python3", "examples/batch.py", "--out", results, "--plot", plot);
        Assert.True(exitCode == 0, error);
        var lines = File.ReadAllLines(results);
        Assert.StartsWith("label,status", lines[0]);
        Assert.True(lines.Length > 2);
        Assert.Contains("f(0), f(0.5), f(1) =", output);
        Assert.StartsWith("<?xml", File.ReadAllText(plot));
    }

    [LiveServiceFact("python3")]
    public async Task ThePythonClientSubmitsWaitsReadsHistoryPredictsAndPlots()
    {
        var (exitCode, output, error) = await RunScript("python3", "tests/Cli.Tests/EndToEnd/python_client_check.py", Path.Combine(_dir, "client.svg"));

        Assert.True(exitCode == 0, error + output);
        Assert.StartsWith("ok", output);
    }

    [LiveServiceFact(PythonModule = "numpy")]
    public async Task ThePythonClientGivesNumpyArraysWhenNumpyIsThere()
    {
        var (exitCode, output, error) = await RunScript("/usr/bin/python3", "tests/Cli.Tests/EndToEnd/python_client_check.py", Path.Combine(_dir, "client.svg"));

        Assert.True(exitCode == 0, error + output);
        Assert.Equal("ok (numpy)", output.Trim());
    }

    private async Task<(int ExitCode, string Out, string Err)> RunScript(string program, string script, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot() };
        start.ArgumentList.Add(Path.Combine(RepositoryRoot(), script));
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["FITSERVICE_URL"] = _server;
        if (_apiKey is not null)
            start.Environment["FITSERVICE_API_KEY"] = _apiKey;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FitService.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("FitService.sln not found above " + AppContext.BaseDirectory);
    }
}
