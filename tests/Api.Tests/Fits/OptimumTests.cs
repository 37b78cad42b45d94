using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.Fits;

/// <summary>The exact optimum beside every fit, the gap to it, and <c>solver: "exact"</c>.</summary>
public sealed class OptimumTests(OptimumTests.Service factory) : IClassFixture<OptimumTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    /// <summary>The fit once its optimum is no longer pending (it may be stored just after the fit's end).</summary>
    private async Task<FitResource> WithOptimum(string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var fit = await _client.WaitForEnd(id);
            if (fit.OptimumStatus != "pending" || DateTime.UtcNow > deadline) return fit;
            await Task.Delay(20);
        }
    }

    private static object Lesson(string loss, int steps = 200) => new
    {
        x = LessonData.X, y = LessonData.Y, degree = 2, loss, learningRate = 0.01, steps, initialParams = new[] { 1.1, 1.1, 1.1 },
    };

    [Fact]
    public async Task AnOptionalNumberThatIsNotFiniteIsLeftOutNotWrittenNull()
    {
        // One weight of 1e300 beside subnormal ones: the optimum's gradient norm is NaN. gradientNorm is optional and not nullable
        // in the schema (a generated client reads it as a plain double), so it must be absent, not null.
        var x = Enumerable.Range(0, 25).Select(i => (double)i).ToArray();
        var y = x.Select(v => v == 0 ? 1 : Math.Sin(v)).ToArray();
        var weights = x.Select(v => v == 0 ? 1e300 : double.Epsilon).ToArray();

        var response = await _client.PostFit(new { x, y, weights, degree = 1, loss = "mse", solver = "exact" }, ("Prefer", "wait=60"));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("succeeded", body.GetProperty("status").GetString());
        var optimum = body.GetProperty("optimum");
        Assert.True(!optimum.TryGetProperty("gradientNorm", out var norm) || norm.ValueKind == JsonValueKind.Number, $"gradientNorm: {norm}");
    }

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
    [InlineData("mse", Engine.LossKind.Mse)]
    [InlineData("mae", Engine.LossKind.Mae)]
    [InlineData("huber", Engine.LossKind.Huber)]
    public void TheServiceChargesTheEnginesOwnEstimateOfTheOptimum(string loss, Engine.LossKind kind)
    {
        foreach (var (points, degree) in new[] { (20, 2), (100_000, 5), (1_000_000, 20) })
        {
            var spec = new FitSpec { Degree = degree, Loss = loss, Steps = 10, Points = points, HistoryEvery = 1 };

            Assert.Equal(Engine.Exact.ExactSolver.EstimateWork(points, degree + 1, kind), Api.Fits.FitWork.Exact(spec));
            Assert.Equal(Engine.Exact.ExactSolver.EstimateWork(points, degree + 1, kind), Api.Fits.FitWork.Of(spec with { Solver = "exact", Steps = 0 }));
        }
    }

    [Theory]
    [InlineData("mae")]
    [InlineData("mse")]
    [InlineData("huber")]
    public async Task AFinishedFitCarriesTheOptimumAndTheGapToIt(string loss)
    {
        var ended = await (await _client.PostFit(Lesson(loss), ("Prefer", "wait=30"))).ReadFit();
        var fit = await WithOptimum(ended.Id);

        Assert.Equal("succeeded", fit.Status);
        Assert.Equal("ready", fit.OptimumStatus);
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
        var posted = await WithOptimum((await (await _client.PostFit(Lesson("mse", 20), ("Prefer", "wait=30"))).ReadFit()).Id);

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
        Assert.Equal("pending", json.GetProperty("optimumStatus").GetString());
        var cancelled = await (await _client.PostAsync($"/v1/fits/{json.GetProperty("id").GetString()}/cancel", null)).ReadFit();
        var ended = await _client.WaitForEnd(cancelled.Id);
        Assert.Equal("cancelled", ended.Status);
        Assert.Null(ended.Optimum); // a cancelled fit gets no optimum: the user asked it to stop
        Assert.Equal("notApplicable", ended.OptimumStatus);
    }

    [Fact]
    public async Task SolverExactReturnsTheOptimumWithoutDescent()
    {
        var response = await _client.PostFit(new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", solver = "exact" }, ("Prefer", "wait=30"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var fit = await response.ReadFit();
        Assert.Equal("succeeded", fit.Status);
        Assert.Equal("exact", fit.StopReason);
        Assert.Equal("ready", fit.OptimumStatus);
        Assert.NotNull(fit.Optimum!.Iterations);
        Assert.Equal(0, fit.Step);
        Assert.Empty(fit.History!);
        Assert.Equal(fit.Optimum!.Params, fit.Params);
        Assert.Equal(fit.Optimum.Loss, fit.Loss);
        Assert.Equal(0, fit.Gap);
        Assert.Equal("exact", fit.Request.Solver);
        Assert.Null(fit.Request.LearningRate);
        Assert.Equal(0.9859229424991589, fit.Loss!.Value, 12); // bench/exact_reference.py's brute force over all vertices
    }

    [Theory]
    [InlineData("mse")]
    [InlineData("mae")]
    [InlineData("huber")]
    public async Task AnExactFitWhoseOptimumIsBeyondTheDoublesEndsSolverFailedAsTheContractSays(string loss)
    {
        // A real limit, not a mock: the optimum through (1, 1.7e308), (2, −1.7e308), (3, 1.7e308) has a leading param of
        // 3.4e308, which no double holds. Every value is finite, so the request is valid and accepted.
        var request = new { x = new[] { 1.0, 2, 3 }, y = new[] { 1.7e308, -1.7e308, 1.7e308 }, degree = 2, loss, solver = "exact" };

        var response = await _client.PostFit(request, ("Prefer", "wait=30"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var fit = await response.ReadFit();
        Assert.Equal("failed", fit.Status);
        Assert.Equal("solverFailed", fit.StopReason);
        Assert.Equal("failed", fit.OptimumStatus);
        Assert.Contains("overflow", fit.OptimumError);
        Assert.Contains(fit.OptimumError!, fit.Error);
        Assert.Empty(fit.Params!);
        // The value is in the OpenAPI document's enum, so a client generated with enums reads it.
        var document = JsonDocument.Parse(await _client.GetStringAsync("/swagger/v1/swagger.json"));
        var reasons = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("FitResource")
            .GetProperty("properties").GetProperty("stopReason").GetProperty("enum").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("solverFailed", reasons);
        Assert.Contains("exact", reasons);
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
    public async Task TooFewDistinctXValuesGiveAnOptimumWithARankDeficiencyWarning()
    {
        var fit = await (await _client.PostFit(new { x = new[] { 1.0, 1.0, 2.0 }, y = new[] { 1.0, 2.0, 3.0 }, degree = 2, loss = "mse", solver = "exact" },
            ("Prefer", "wait=30"))).ReadFit();

        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(1.0 / 6, fit.Loss!.Value, 12); // the group {1, 2} at x = 1 is fitted by its mean
        Assert.Contains("rank-deficient", fit.Optimum!.Warning);
        var descent = await (await _client.PostFit(new { x = new[] { 1.0, 1.0, 2.0 }, y = new[] { 1.0, 2.0, 3.0 }, degree = 2, loss = "mse", learningRate = 0.01, steps = 5 },
            ("Prefer", "wait=30"))).ReadFit();
        var withOptimum = await WithOptimum(descent.Id);
        Assert.Equal("succeeded", withOptimum.Status);
        Assert.Equal("ready", withOptimum.OptimumStatus);
        Assert.Contains("rank-deficient", withOptimum.Optimum!.Warning);
    }

    [Fact]
    public async Task AFitEndsWithoutWaitingForItsOptimumWhichFollows()
    {
        // 200,000 points, 2 steps: the exact MAE solve is far more work than the descent, so it runs after the end.
        var random = new Random(7);
        var x = Enumerable.Range(0, 200_000).Select(_ => Math.Round(random.NextDouble() * 10, 2)).ToArray();
        var y = x.Select(v => Math.Round(v * v - 3 * v + 4 * (random.NextDouble() - 0.5), 1)).ToArray();

        var ended = await (await _client.PostFit(new { x, y, degree = 2, loss = "mae", learningRate = 1e-4, steps = 2 }, ("Prefer", "wait=60"))).ReadFit();

        Assert.Equal("succeeded", ended.Status);
        Assert.Contains(ended.OptimumStatus, new[] { "pending", "ready" });
        var fit = await WithOptimum(ended.Id);
        Assert.Equal("ready", fit.OptimumStatus);
        Assert.Equal(ended.Loss, fit.Loss); // the fit's own result is untouched by the optimum
        Assert.Equal(fit.Loss!.Value - fit.Optimum!.Loss!.Value, fit.Gap!.Value, 12);
        Assert.True(fit.Gap > 0);
    }
}
