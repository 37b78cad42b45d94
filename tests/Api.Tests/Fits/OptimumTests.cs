using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.Fits;

/// <summary>The exact optimum beside every fit, the gap to it, and <c>solver: "exact"</c>.</summary>
public sealed class OptimumTests(OptimumTests.Service factory) : IClassFixture<OptimumTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    private static object Lesson(string loss, int steps = 200) => new
    {
        x = LessonData.X, y = LessonData.Y, degree = 2, loss, learningRate = 0.01, steps, initialParams = new[] { 1.1, 1.1, 1.1 },
    };

    [Fact]
    public async Task AnOptimumFarCostlierThanACheapDescentIsSkippedWithTheReason()
    {
        // 150,000 points at degree 20 with MAE: the optimum's estimate (~1.1e10) is above FitWork.MaxOptimumWork, the 1-step descent tiny.
        const int n = 150_000;
        var x = Enumerable.Range(0, n).Select(i => -1 + 2.0 * i / (n - 1)).ToArray();
        var request = new { x, y = x, degree = 20, loss = "mae", learningRate = 0.001, steps = 1 };
        var spec = new FitSpec { Degree = 20, Loss = "mae", Steps = 1, Points = n, HistoryEvery = 1 };
        Assert.False(Api.Fits.FitWork.ComputesOptimum(spec));

        var fit = await (await _client.PostFit(request, ("Prefer", "wait=60"))).ReadFit();

        Assert.Equal("succeeded", fit.Status);
        Assert.Null(fit.Optimum);
        Assert.Null(fit.Gap);
        Assert.StartsWith("not computed beside the descent", fit.OptimumError);
        Assert.Contains("solver \"exact\"", fit.OptimumError);
    }

    [Fact]
    public void TheWorkOfAFitCountsTheOptimumBesideIt()
    {
        var descent = new FitSpec { Degree = 2, Loss = "mae", Steps = 100, Points = 20, HistoryEvery = 1 };
        var exact = descent with { Solver = "exact", Steps = 0 };
        var million = descent with { Degree = 20, Steps = 1, Points = 1_000_000 };

        Assert.Equal(Api.Fits.FitWork.Descent(descent) + Api.Fits.FitWork.Exact(descent), Api.Fits.FitWork.Of(descent));
        Assert.Equal(Api.Fits.FitWork.Exact(descent), Api.Fits.FitWork.Of(exact));
        Assert.True(Api.Fits.FitWork.Exact(million) > 7e10, $"{Api.Fits.FitWork.Exact(million):0.#e0}");
        Assert.Equal(Api.Fits.FitWork.Descent(million), Api.Fits.FitWork.Of(million));
    }

    [Theory]
    [InlineData("mae")]
    [InlineData("mse")]
    [InlineData("huber")]
    public async Task AFinishedFitCarriesTheOptimumAndTheGapToIt(string loss)
    {
        var fit = await (await _client.PostFit(Lesson(loss), ("Prefer", "wait=30"))).ReadFit();

        Assert.Equal("succeeded", fit.Status);
        Assert.NotNull(fit.Optimum);
        Assert.Equal(3, fit.Optimum.Params.Length);
        Assert.Equal(fit.Loss!.Value - fit.Optimum.Loss!.Value, fit.Gap!.Value, 15);
        Assert.True(fit.Gap >= -1e-12, $"gap {fit.Gap}: the descent cannot beat the optimum");
        Assert.True(fit.Optimum.ConditionNumber is > 1 and < 1e3);
        Assert.Null(fit.Optimum.Warning);
        // The optimum's loss is the loss a fit at those params would report.
        var evaluated = await _client.PostAsJsonAsync("/v1/evaluate", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss, @params = fit.Optimum.Params });
        Assert.Equal(fit.Optimum.Loss!.Value, (await evaluated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("loss").GetDouble());
    }

    [Fact]
    public async Task TheOptimumIsStoredWithTheFitAndListedToo()
    {
        var posted = await (await _client.PostFit(Lesson("mse", 20), ("Prefer", "wait=30"))).ReadFit();

        var again = await _client.WaitForEnd(posted.Id);
        Assert.Equal(posted.Optimum!.Params, again.Optimum!.Params);
        Assert.Equal(posted.Gap, again.Gap);
        var json = await _client.GetStringAsync($"/v1/fits/{posted.Id}");
        Assert.Contains("\"gap\":", json);
        Assert.Contains("\"optimum\":{\"params\":[", json);
    }

    [Fact]
    public async Task AQueuedFitShowsNullOptimumAndGap()
    {
        var response = await _client.PostFit(new
        {
            x = Enumerable.Range(0, 2000).Select(i => i / 1000.0).ToArray(),
            y = Enumerable.Range(0, 2000).Select(i => Math.Sin(i / 300.0)).ToArray(),
            degree = 3, loss = "mse", learningRate = 1e-4, steps = 10_000_000,
        });
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(JsonValueKind.Null, json.GetProperty("optimum").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("gap").ValueKind);
        var cancelled = await (await _client.PostAsync($"/v1/fits/{json.GetProperty("id").GetString()}/cancel", null)).ReadFit();
        var ended = await _client.WaitForEnd(cancelled.Id);
        Assert.Equal("cancelled", ended.Status);
        Assert.Null(ended.Optimum); // a cancelled fit gets no optimum: the user asked it to stop
    }

    [Fact]
    public async Task SolverExactReturnsTheOptimumWithoutDescent()
    {
        var response = await _client.PostFit(new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", solver = "exact" }, ("Prefer", "wait=30"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var fit = await response.ReadFit();
        Assert.Equal("succeeded", fit.Status);
        Assert.Equal("exact", fit.StopReason);
        Assert.Equal(0, fit.Step);
        Assert.Empty(fit.History!);
        Assert.Equal(fit.Optimum!.Params, fit.Params);
        Assert.Equal(fit.Optimum.Loss, fit.Loss);
        Assert.Equal(0, fit.Gap);
        Assert.Equal("exact", fit.Request.Solver);
        Assert.Null(fit.Request.LearningRate);
        Assert.Equal(0.9859229424991589, fit.Loss!.Value, 12); // bench/exact_reference.py's brute force over all vertices
    }

    [Fact]
    public async Task SolverExactRefusesAnUnknownSolver()
    {
        var unknown = await _client.PostFit(new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", solver = "newton" });
        Assert.Equal("must be one of descent, exact", (await unknown.ReadProblem()).GetProperty("errors").GetProperty("solver")[0].GetString());
    }

    [Fact]
    public async Task AnIllConditionedProblemSaysSoAndHowToScaleX()
    {
        var x = Enumerable.Range(0, 50).Select(i => 1000.0 * i / 49).ToArray();
        var y = x.Select(v => 100 * Math.Sin(v / 200)).ToArray();

        var fit = await (await _client.PostFit(new { x, y, degree = 10, loss = "mse", solver = "exact" }, ("Prefer", "wait=30"))).ReadFit();

        Assert.True(fit.Optimum!.ConditionNumber > 1e12);
        Assert.Contains("x' = (x − 500)/500", fit.Optimum.Warning);
        Assert.True(fit.Optimum.ScaledConditionNumber < 1e4);
    }

    [Fact]
    public async Task TooFewDistinctXValuesFailTheExactSolverWithTheReason()
    {
        var fit = await (await _client.PostFit(new { x = new[] { 1.0, 1.0, 2.0 }, y = new[] { 1.0, 2.0, 3.0 }, degree = 2, loss = "mse", solver = "exact" },
            ("Prefer", "wait=30"))).ReadFit();

        Assert.Equal("failed", fit.Status);
        Assert.Contains("at least 3 distinct x values", fit.Error);
        var descent = await (await _client.PostFit(new { x = new[] { 1.0, 1.0, 2.0 }, y = new[] { 1.0, 2.0, 3.0 }, degree = 2, loss = "mse", learningRate = 0.01, steps = 5 },
            ("Prefer", "wait=30"))).ReadFit();
        Assert.Equal("succeeded", descent.Status);
        Assert.Null(descent.Optimum);
        Assert.Contains("distinct x values", descent.OptimumError);
    }
}
