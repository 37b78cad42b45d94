using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;
using FitService.Engine.Models;

namespace FitService.Api.Tests.Plots;

/// <summary><c>GET /v1/fits/{id}/plot.svg</c> and <c>/loss.svg</c> on real fits.</summary>
public sealed class PlotEndpointTests(PlotEndpointTests.Service factory) : IClassFixture<PlotEndpointTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    private static object Lesson(object? stop = null, double learningRate = 0.01, string label = "lesson", string loss = "mae") => new
    {
        x = LessonData.X,
        y = LessonData.Y,
        degree = 2,
        loss,
        learningRate,
        steps = 100,
        initialParams = LessonData.InitialParams,
        stop,
        label,
    };

    private async Task<(FitResource Fit, SvgReader Plot, HttpResponseMessage Response)> PlotOf(object request, string path)
    {
        var fit = await (await _client.PostFit(request, ("Prefer", "wait=30"))).ReadFit();
        var response = await _client.GetAsync($"/v1/fits/{fit.Id}/{path}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (fit, new SvgReader(await response.Content.ReadAsStringAsync()), response);
    }

    [Fact]
    public async Task APlotShowsTheFittedAndInitialCurvesAndTheFinalLossInTheTitle()
    {
        var (fit, plot, response) = await PlotOf(Lesson(), "plot.svg");

        Assert.Equal("image/svg+xml", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal($"lesson: degree 2, MAE, final loss {fit.Loss!.Value.ToString("F4", CultureInfo.InvariantCulture)}", plot.ById("title")!.Value);
        var toX = plot.Inverse("x-axis");
        var toPixelY = plot.Forward("y-axis");
        foreach (var (px, py) in plot.PathPoints("fit-curve")) Assert.Equal(toPixelY(Polynomial.Evaluate(fit.Params!, toX(px))), py, 0.5);
        foreach (var (px, py) in plot.PathPoints("initial-curve")) Assert.Equal(toPixelY(Polynomial.Evaluate(LessonData.InitialParams, toX(px))), py, 0.5);
        Assert.Equal(20, plot.Circles("points").Count);
    }

    [Fact]
    public async Task TheLossPlotMarksTheStepAStopRuleFired()
    {
        var (fit, plot, _) = await PlotOf(Lesson(stop: new { lossBelow = 2.0 }), "loss.svg?scale=log");

        Assert.Equal("converged", fit.StopReason);
        Assert.Contains($"stop rule fired at step {fit.Step}", plot.ById("stop-marker")!.Value);
        Assert.Contains("log scale", plot.ById("y-axis")!.Value);
        Assert.Equal(fit.History!.Length, plot.PathPoints("loss-curve").Count);
    }

    [Fact]
    public async Task TheLossPlotOfADivergedFitMarksWhereDivergenceBegan()
    {
        var (fit, plot, _) = await PlotOf(Lesson(learningRate: 10, label: "too fast", loss: "mse"), "loss.svg");

        Assert.Equal("diverged", fit.StopReason);
        Assert.Contains($"not finite at step {fit.Step}", plot.ById("divergence-marker")!.Value);
        Assert.Contains("(diverged)", plot.ById("title")!.Value);
    }

    [Fact]
    public async Task AnUnknownScaleIs400NamingTheField()
    {
        var fit = await (await _client.PostFit(Lesson(), ("Prefer", "wait=30"))).ReadFit();
        var response = await _client.GetAsync($"/v1/fits/{fit.Id}/loss.svg?scale=cubic");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ReadProblem();
        Assert.True(problem.GetProperty("errors").TryGetProperty("scale", out _));
    }

    [Theory]
    [InlineData("plot.svg")]
    [InlineData("loss.svg")]
    public async Task PlotsOfAnUnknownFitAre404ProblemDetails(string plot)
    {
        var response = await _client.GetAsync($"/v1/fits/nope/{plot}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("Fit not found", (await response.ReadProblem()).GetProperty("title").GetString());
    }

    [Fact]
    public async Task SwaggerDescribesThePlotsAsSvgAndTheEvaluateCall()
    {
        var doc = await _client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
        var paths = doc.GetProperty("paths");

        foreach (var plot in new[] { "/v1/fits/{id}/plot.svg", "/v1/fits/{id}/loss.svg" })
        {
            Assert.True(paths.GetProperty(plot).GetProperty("get").GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("image/svg+xml", out _));
        }
        Assert.True(paths.GetProperty("/v1/evaluate").TryGetProperty("post", out _));
    }

    [Fact]
    public async Task ThePlaygroundIsServedAtTheRoot()
    {
        var response = await _client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("app.js", await response.Content.ReadAsStringAsync());
    }
}

/// <summary>Our SVG as librsvg (Debian's <c>rsvg-convert</c>) renders it: a second, strict reader besides the browser.</summary>
[SkipUnlessRsvgConvert]
public sealed class RsvgRenderingTests
{
    [ConditionalFact]
    public async Task RsvgConvertRendersAFitPlotAndALossPlotToPng()
    {
        var fit = Api.Plots.FitPlot.Render(new Api.Plots.FitPlotInput("lesson", LessonData.X, LessonData.Y, [3, 2, 1], [1.1, 1.1, 1.1], 0.95, "lesson"));
        var loss = Api.Plots.LossPlot.Render(new Api.Plots.LossPlotInput("loss", [2.4, 2.0, 1.7], 1, 3, 1.5, "converged", true, "loss"));
        foreach (var svg in new[] { fit, loss })
        {
            var info = new ProcessStartInfo(SkipUnlessRsvgConvertAttribute.Path, ["--format=png"])
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var rsvg = Process.Start(info)!;
            await rsvg.StandardInput.WriteAsync(svg);
            rsvg.StandardInput.Close();
            using var png = new MemoryStream();
            var copy = rsvg.StandardOutput.BaseStream.CopyToAsync(png);
            var errors = await rsvg.StandardError.ReadToEndAsync();
            await copy;
            await rsvg.WaitForExitAsync();

            Assert.True(rsvg.ExitCode == 0, errors);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png.ToArray()[..4]);
            Assert.True(png.Length > 5000, $"the PNG has only {png.Length} bytes");
        }
    }
}

public sealed class SkipUnlessRsvgConvertAttribute : SkipConditionAttribute
{
    public const string Path = "/usr/bin/rsvg-convert";

    public override string? SkipReason => File.Exists(Path) ? null : $"{Path} is not installed (Debian package librsvg2-bin)";
}
