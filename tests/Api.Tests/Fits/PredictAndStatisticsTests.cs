using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;
using FitService.Engine.Models;
using FitService.Engine.Statistics;

namespace FitService.Api.Tests.Fits;

/// <summary>Every succeeded fit carries its statistics; <c>POST /v1/fits/{id}/predict</c> puts new x through it.</summary>
public sealed class PredictAndStatisticsTests(PredictAndStatisticsTests.Service factory) : IClassFixture<PredictAndStatisticsTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"), ("Limits:MaxPoints", "1000"));

    private readonly HttpClient _client = factory.CreateClient();

    private async Task<FitResource> Fit(object request) => await (await _client.PostFit(request, ("Prefer", "wait=60"))).ReadFit();

    [Fact]
    public async Task AnExactLeastSquaresFitReportsStatsmodelsInference()
    {
        var fit = await Fit(new { x = LessonData.X, y = LessonData.Y, solver = "exact" });

        var statistics = fit.Statistics!;
        var ols = LeastSquares.Fit(LessonData.X, LessonData.Y, 2, default, out _)!;
        var reported = statistics.LeastSquares!;
        for (var j = 0; j < 3; j++)
        {
            Assert.Equal(ols.Params[j], reported.Params[j]!.Value, 1e-12);
            Assert.Equal(ols.StandardErrors[j], reported.StandardErrors[j]!.Value);
            Assert.Equal(ols.ConfidenceIntervals[j], reported.ConfidenceIntervals[j].Select(v => v!.Value));
        }
        Assert.Equal(17, reported.DegreesOfFreedom);
        Assert.Equal(0.95, reported.ConfidenceLevel);
        Assert.True(reported.MaxDeviation < 1e-6, $"exact params are {reported.MaxDeviation} standard errors from least squares");
        Assert.Equal(20, statistics.Points);
        Assert.Equal(3, statistics.ParamCount);
        Assert.Equal(reported.RSquared!.Value, statistics.RSquared!.Value, 1e-12);
        Assert.Equal(reported.Aic!.Value, statistics.Aic!.Value, 1e-9);
        Assert.Equal(Math.Sqrt(fit.Loss!.Value), statistics.Rmse!.Value, 1e-12);
        Assert.True(statistics.Residuals.Min <= statistics.Residuals.Q1 && statistics.Residuals.Q1 <= statistics.Residuals.Median
            && statistics.Residuals.Median <= statistics.Residuals.Q3 && statistics.Residuals.Q3 <= statistics.Residuals.Max);
    }

    [Fact]
    public async Task ADefaultDescentFitHasStatisticsAtItsOwnParamsAndInferenceAtTheOptimum()
    {
        var fit = await _client.WaitForEnd((await (await _client.PostFit(new { x = LessonData.X, y = LessonData.Y })).ReadFit()).Id, 120);

        Assert.Equal("succeeded", fit.Status);
        var statistics = fit.Statistics!;
        Assert.True(statistics.RSquared > 0.8, $"R² {statistics.RSquared}");
        Assert.True(statistics.LeastSquares!.MaxDeviation < 1e-3, $"converged descent is {statistics.LeastSquares.MaxDeviation} standard errors from the optimum");
        Assert.Equal(fit.Optimum!.Params[0], statistics.LeastSquares.Params[0]!.Value, 1e-9);
    }

    [Fact]
    public async Task AnMaeFitHasGoodnessOfFitButNoLeastSquaresInference()
    {
        var fit = await Fit(new { x = LessonData.X, y = LessonData.Y, loss = "mae", learningRate = 0.01, steps = 100 });

        Assert.NotNull(fit.Statistics!.Mae);
        Assert.Equal(fit.Loss!.Value, fit.Statistics.Mae!.Value, 12);
        Assert.Null(fit.Statistics.LeastSquares);
        Assert.Null(fit.Statistics.LeastSquaresError);
    }

    [Fact]
    public async Task TooFewPointsForStandardErrorsSayWhy()
    {
        var fit = await Fit(new { x = new[] { 0.0, 1, 2 }, y = new[] { 1.0, 2, 5 }, solver = "exact" });

        Assert.Null(fit.Statistics!.LeastSquares);
        Assert.Contains("more points (3) than params (3)", fit.Statistics.LeastSquaresError);
    }

    [Fact]
    public async Task PredictPutsNewXThroughTheFittedPolynomial()
    {
        var fit = await Fit(new { x = LessonData.X, y = LessonData.Y, solver = "exact" });

        var response = await _client.PostAsJsonAsync($"/v1/fits/{fit.Id}/predict", new { x = new[] { 1.5, 2.5 } });

        response.EnsureSuccessStatusCode();
        var y = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("y").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal([Polynomial.Evaluate(fit.Params!, 1.5), Polynomial.Evaluate(fit.Params!, 2.5)], y);
    }

    [Fact]
    public async Task PredictTakesAndGivesCsv()
    {
        var fit = await Fit(new { x = LessonData.X, y = LessonData.Y, solver = "exact" });
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/fits/{fit.Id}/predict?x=temp")
        {
            Content = new StringContent("day;temp\n1;1.5\n2;\"2.5\"\n3;-1\n", Encoding.UTF8, "text/csv"),
        };
        request.Headers.Accept.ParseAdd("text/csv");

        var response = await _client.SendAsync(request);

        response.EnsureSuccessStatusCode();
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');
        Assert.Equal("x,y", lines[0]);
        Assert.Equal($"2.5,{Polynomial.Evaluate(fit.Params!, 2.5):R}", lines[2]);
        Assert.Equal(4, lines.Length);
    }

    [Fact]
    public async Task PredictNamesBadCsvCellsByLine()
    {
        var fit = await Fit(new { x = LessonData.X, y = LessonData.Y, solver = "exact" });

        var response = await _client.PostAsync($"/v1/fits/{fit.Id}/predict", new StringContent("x\n1\nabc\n3\n", Encoding.UTF8, "text/csv"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("line 3: column 'x' is 'abc', not a finite number",
            (await response.ReadProblem()).GetProperty("errors").GetProperty("body")[0].GetString());
    }

    [Fact]
    public async Task PredictRefusesMoreValuesThanMaxPointsAndUnknownFits()
    {
        var fit = await Fit(new { x = LessonData.X, y = LessonData.Y, solver = "exact" });

        var tooMany = await _client.PostAsJsonAsync($"/v1/fits/{fit.Id}/predict", new { x = new double[1001] });
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Contains("at most 1000", (await tooMany.ReadProblem()).GetProperty("errors").GetProperty("x")[0].GetString());
        var unknown = await _client.PostAsJsonAsync("/v1/fits/nope/predict", new { x = new[] { 1.0 } });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task PredictWithAFitThatHasNotSucceededIs409()
    {
        var fit = await Fit(new { x = new[] { 1.0, 2, 3 }, y = new[] { 1.0, 2, 3 }, loss = "mse", learningRate = 1e6, steps = 100 }); // diverges: failed

        var response = await _client.PostAsJsonAsync($"/v1/fits/{fit.Id}/predict", new { x = new[] { 1.0 } });

        Assert.Equal("failed", fit.Status);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }
}
