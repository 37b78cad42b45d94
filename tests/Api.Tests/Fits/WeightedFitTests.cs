using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;
using FitService.Engine.Models;

namespace FitService.Api.Tests.Fits;

/// <summary>
/// <c>weights</c> end to end: in JSON and as a CSV column (<c>w=</c>), validated, stored with the points, used by the descent
/// (as PyTorch's <c>(w * loss).sum() / w.sum()</c>), by evaluate and by the statistics (statsmodels WLS).
/// </summary>
public sealed class WeightedFitTests(WeightedFitTests.Service factory) : IClassFixture<WeightedFitTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    private static JsonElement Reference(string file, string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", file))).RootElement
            .GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static double[] Doubles(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    private static void Close(double expected, double actual, string what, double tolerance = 1e-9) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * Math.Max(Math.Abs(expected), 1e-300),
            $"{what}: expected {expected:R}, got {actual:R}");

    /// <summary>Submits and follows the fit to its end, however loaded the machine (each wait is bounded; the loop is not timed).</summary>
    private async Task<FitResource> Ended(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Accepted, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var fit = await response.ReadFit();
        for (var i = 0; i < 10 && fit.Status is "queued" or "running"; i++) fit = await _client.WaitForEnd(fit.Id, 60);
        Assert.Equal("succeeded", fit.Status);
        return fit;
    }

    private Task<HttpResponseMessage> PostCsv(string query, string csv)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fits" + query) { Content = new StringContent(csv, Encoding.UTF8, "text/csv") };
        request.Headers.TryAddWithoutValidation("Prefer", "wait=60");
        return _client.SendAsync(request);
    }

    [Fact]
    public async Task AWeightedDescentMatchesPyTorchWithAWeightTensorStepForStep()
    {
        var c = Reference("torch_weighted_runs.json", "lesson weighted mse, sgd momentum 0.9");
        var p = c.GetProperty("problem");
        var torch = c.GetProperty("torch");

        var fit = await Ended(await _client.PostFit(new
        {
            x = Doubles(p.GetProperty("x")), y = Doubles(p.GetProperty("y")), weights = Doubles(p.GetProperty("weights")),
            degree = 2, loss = "mse", learningRate = 0.01, steps = 200, initialParams = new[] { 1.1, 1.1, 1.1 },
            optimizer = new { type = "sgd", momentum = 0.9 },
        }, ("Prefer", "wait=60")));

        var history = await _client.WholeHistory(fit.Id);
        var expected = Doubles(torch.GetProperty("history"));
        Assert.Equal(expected.Length, history.Length);
        for (var i = 0; i < expected.Length; i++) Close(expected[i], history[i], $"history[{i}]");
        var parameters = Doubles(torch.GetProperty("params"));
        for (var j = 0; j < 3; j++) Close(parameters[j], fit.Params![j], $"params[{j}]");
        Close(torch.GetProperty("loss").GetDouble(), fit.Loss!.Value, "loss");
        Assert.True(fit.Request.Weighted);
    }

    [Fact]
    public async Task AWeightedExactLeastSquaresFitIsStatsmodelsWls()
    {
        var c = Reference("statsmodels_reference.json", "temperature and sales degree 2, three zero weights");
        double[] x = Doubles(c.GetProperty("x")), y = Doubles(c.GetProperty("y")), w = Doubles(c.GetProperty("weights"));

        var fit = await Ended(await _client.PostFit(new { x, y, weights = w, solver = "exact" }, ("Prefer", "wait=60")));

        var wls = fit.Statistics!.LeastSquares!;
        var expected = new[] { "params", "bse", "tvalues" }.Select(k => Doubles(c.GetProperty(k))).ToArray();
        for (var j = 0; j < 3; j++)
        {
            Close(expected[0][j], wls.Params[j]!.Value, $"params[{j}]");
            Close(expected[1][j], wls.StandardErrors[j]!.Value, $"bse[{j}]");
            Close(expected[2][j], wls.TValues[j]!.Value, $"tvalues[{j}]");
            var interval = Doubles(c.GetProperty("confInt")[j]);
            Close(interval[0], wls.ConfidenceIntervals[j][0]!.Value, $"conf_int[{j}][0]");
            Close(interval[1], wls.ConfidenceIntervals[j][1]!.Value, $"conf_int[{j}][1]");
        }
        Close(c.GetProperty("rsquared").GetDouble(), wls.RSquared!.Value, "rsquared");
        Close(c.GetProperty("rsquaredAdj").GetDouble(), wls.AdjustedRSquared!.Value, "rsquared_adj");
        Close(c.GetProperty("sigma").GetDouble(), wls.Sigma!.Value, "sqrt(scale)");
        Assert.Equal(c.GetProperty("dfResid").GetDouble(), wls.DegreesOfFreedom);
        // statsmodels' WLS log-likelihood has ½Σlog w: −∞ with a zero weight, null on the wire.
        Assert.Null(wls.LogLikelihood);
        Assert.Null(fit.Statistics.Aic);
        // The exact fit is the WLS optimum; its loss is the weighted mean squared error there, as evaluate computes it.
        for (var j = 0; j < 3; j++) Close(expected[0][j], fit.Params![j], $"fit params[{j}]");
        Close(Fitter.Evaluate(x, y, 2, new LossSpec(LossKind.Mse), fit.Params!, w), fit.Loss!.Value, "loss", 1e-12);
        Close(Math.Sqrt(fit.Loss.Value), fit.Statistics.Rmse!.Value, "rmse", 1e-12);
        Close(c.GetProperty("ssr").GetDouble() / w.Sum(), fit.Loss.Value, "ssr / Σw");
    }

    [Theory]
    [InlineData("mse")]
    [InlineData("mae")]
    [InlineData("huber")]
    public async Task AWeightedDescentHasTheWeightedOptimumAndANonNegativeGap(string loss)
    {
        double[] x = [-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5], y = [9.1, 5.2, 2.4, 1.1, 0.8, 1.6, 3.9, 7.2, 11.1, 30];
        double[] w = [1, 2, 1, 3, 1, 2, 1, 1, 2, 0];

        var ended = await Ended(await _client.PostFit(new { x, y, weights = w, loss }, ("Prefer", "wait=60")));
        var fit = await WithOptimum(ended.Id);

        Assert.Equal("ready", fit.OptimumStatus);
        var optimum = fit.Optimum!;
        var lossSpec = new LossSpec(loss switch { "mae" => LossKind.Mae, "huber" => LossKind.Huber, _ => LossKind.Mse });
        Close(Fitter.Evaluate(x, y, 2, lossSpec, optimum.Params, w), optimum.Loss!.Value, "optimum loss", 1e-9);
        Assert.True(fit.Gap >= -1e-9 * optimum.Loss.Value, $"gap {fit.Gap}");
        // The point at x = 2.5 (weight 0) is far off the curve: the weighted optimum ignores it.
        Assert.True(Math.Abs(optimum.Params[0] * 6.25 + optimum.Params[1] * 2.5 + optimum.Params[2] - 30) > 5);
    }

    /// <summary>The fit once its optimum is no longer pending (it may be stored just after the fit's end).</summary>
    private async Task<FitResource> WithOptimum(string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var fit = await _client.WaitForEnd(id, 60);
            if (fit.OptimumStatus != "pending" || DateTime.UtcNow > deadline) return fit;
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task ACsvWeightsColumnGivesTheFitTheSameJsonWeightsGive()
    {
        double[] x = [-1, -0.5, 0, 0.5, 1, 1.5], y = [2.1, 0.9, 0.2, 0.4, 1.8, 4.2], w = [1, 2, 0, 3, 1, 0.5];
        var csv = new StringBuilder("id;x;weight;y\n");
        for (var i = 0; i < x.Length; i++)
            csv.Append(CultureInfo.InvariantCulture, $"{i};{x[i]:R};\"{w[i]:R}\";{y[i]:R}\n");
        object Json() => new { x, y, weights = w, loss = "huber", learningRate = 0.05, steps = 300 };

        var fromCsv = await Ended(await PostCsv("?y=y&w=weight&loss=huber&learningRate=0.05&steps=300", csv.ToString()));
        var fromJson = await Ended(await _client.PostFit(Json(), ("Prefer", "wait=60")));

        Assert.Equal(fromJson.Params, fromCsv.Params);
        Assert.Equal(await _client.WholeHistory(fromJson.Id), await _client.WholeHistory(fromCsv.Id));
        Assert.True(fromCsv.Request.Weighted);
    }

    [Fact]
    public async Task ABatchItemKeepsItsWeightsUnderTheBatchDefaults()
    {
        double[] x = [0, 1, 2, 3], y = [1, 3, 5, 100];
        var response = await _client.PostAsJsonAsync("/v1/batches", new
        {
            defaults = new { degree = 1, solver = "exact" },
            fits = new object[] { new { x, y, weights = new[] { 1.0, 1, 1, 0 } }, new { x, y } },
        });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var ids = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("fitIds").EnumerateArray().Select(e => e.GetString()!).ToArray();

        var weighted = await _client.WaitForEnd(ids[0], 60);
        var plain = await _client.WaitForEnd(ids[1], 60);

        Assert.True(weighted.Request.Weighted);
        Assert.Equal(2.0, weighted.Params![0], 9); // through (0,1), (1,3), (2,5): the zero-weight point is left out
        Assert.Null(plain.Request.Weighted);
        Assert.True(plain.Params![0] > 20);
    }

    public static TheoryData<string, string> InvalidWeights() => new()
    {
        { """{"x":[1,2,3],"y":[1,2,3],"weights":[1,2]}""", "length 2 differs from x (3)" },
        { """{"x":[1,2,3],"y":[1,2,3],"weights":[1,-0.5,2]}""", "value at index 1 must be finite and ≥ 0" },
        { """{"x":[1,2,3],"y":[1,2,3],"weights":[0,0,0]}""", "must not all be 0" },
        { """{"x":[1,2,3],"y":[1,2,3],"weights":[1e308,1e308,1e308]}""", "must have a finite sum" },
    };

    [Theory]
    [MemberData(nameof(InvalidWeights))]
    public async Task InvalidWeightsAreA400NamingTheFieldAndNothingIsStored(string body, string message)
    {
        var label = Guid.NewGuid().ToString("N");
        var response = await _client.PostAsync("/v1/fits", TestApi.JsonBody(body.Replace("}", $",\"label\":\"{label}\"}}")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.Contains(message, errors.GetProperty("weights")[0].GetString());
        var list = await _client.GetFromJsonAsync<JsonElement>($"/v1/fits?label={label}");
        Assert.Equal(0, list.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task AWeightsColumnThatIsNotThereOrNotANumberIsNamed()
    {
        var missing = await PostCsv("?w=count", "x,y,n\n1,2,1\n2,3,1\n3,5,2\n");
        var bad = await PostCsv("?w=n", "x,y,n\n1,2,1\n2,3,many\n3,5,2\n");
        var negative = await PostCsv("?w=2", "1,2,1\n2,3,-1\n3,5,2\n");

        Assert.Contains("no column 'count'", (await missing.ReadProblem()).GetProperty("errors").GetProperty("w")[0].GetString());
        Assert.Contains("line 3: column 'n' is 'many'", (await bad.ReadProblem()).GetProperty("errors").GetProperty("body")[0].GetString());
        Assert.Contains("line 2: column 2 is -1; weights must be ≥ 0", (await negative.ReadProblem()).GetProperty("errors").GetProperty("w")[0].GetString());
    }

    [Fact]
    public async Task EvaluateTakesWeights()
    {
        double[] x = [0, 1, 2, 3], y = [1, 3, 2, 40];
        var response = await _client.PostAsJsonAsync("/v1/evaluate", new { x, y, weights = new[] { 2.0, 1, 1, 0 }, degree = 1, loss = "mae", @params = new[] { 0.5, 1.25 } });

        response.EnsureSuccessStatusCode();
        var loss = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("loss").GetDouble();
        // |1.25−1|·2 + |1.75−3| + |2.25−2| over 4; the point at x = 3 has weight 0.
        Assert.Equal((0.25 * 2 + 1.25 + 0.25) / 4, loss, 1e-15);
    }
}
