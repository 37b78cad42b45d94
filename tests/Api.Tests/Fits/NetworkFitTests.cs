using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.Fits;

/// <summary>
/// The network models through the API: the lesson's curve by sums of ReLUs, a Titanic-like table by a linear model and by an
/// mlp with binary cross-entropy, from JSON rows and from CSV columns; predictions, probabilities and params by layer.
/// </summary>
public sealed class NetworkFitTests(NetworkFitTests.Service factory) : IClassFixture<NetworkFitTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    /// <summary>The mse of the lesson's quadratic at its starting params (1.1, 1.1, 1.1): where the lesson's descent starts.</summary>
    private static readonly double QuadraticStart = Fitter.Evaluate(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mse), LessonData.InitialParams);

    private async Task<FitResource> FitAsync(object body)
    {
        var response = await _client.PostFit(body, ("Prefer", "wait=30"));
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var fit = await response.ReadFit();
        // A loaded machine may take longer than one wait.
        for (var i = 0; i < 20 && fit.Status is "queued" or "running"; i++) fit = await _client.WaitForEnd(fit.Id, 30);
        return fit;
    }

    /// <summary>The mse at the lesson's least-squares quadratic: the best any quadratic does on these points.</summary>
    private static readonly double QuadraticOptimum =
        Fitter.Evaluate(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mse), Engine.Exact.ExactSolver.Solve(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mse)).Params);

    [Fact]
    public async Task FeaturesNearTheLargestDoubleAreStandardizedToFiniteMeansAndScales()
    {
        // Column 0: 1.75e308 and 1.25e308 (its sum overflows); column 1: ±1.7e308 (its squares overflow); column 2: −1.7e308 once in
        // three, 1.7e308 otherwise (a point's difference from the mean overflows). A generated client reads means and scales as numbers.
        var rows = Enumerable.Range(0, 30).Select(i => new[] { i % 2 == 0 ? 1.75e308 : 1.25e308, i % 2 == 0 ? 1.7e308 : -1.7e308, i % 3 == 0 ? -1.7e308 : 1.7e308 }).ToArray();
        var labels = Enumerable.Range(0, 30).Select(i => (double)(i % 2)).ToArray();

        var response = await _client.PostFit(new { x = rows, y = labels, model = new { type = "linear" }, loss = "mse", standardize = true, learningRate = 0.01, steps = 50 },
            ("Prefer", "wait=60"));
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        var fit = await (await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{id}") { Headers = { { "Prefer", "wait=60" } } }))
            .Content.ReadFromJsonAsync<JsonElement>();

        var standardization = fit.GetProperty("standardization");
        var means = standardization.GetProperty("means").EnumerateArray().Select(m => m.GetDouble()).ToArray();
        var scales = standardization.GetProperty("scales").EnumerateArray().Select(m => m.GetDouble()).ToArray();
        Assert.Equal(1.5e308, means[0], 1e294);
        Assert.Equal(0.25e308, scales[0], 1e294);
        Assert.Equal(0, means[1], 1e294);
        Assert.Equal(1.7e308, scales[1], 1e294);
        Assert.Equal(1.7e308 / 3, means[2], 1e294);
        Assert.Equal(2 * Math.Sqrt(2.0 / 9) * 1.7e308, scales[2], 1e294);
        Assert.Equal("succeeded", fit.GetProperty("status").GetString());
    }

    [Fact]
    public async Task TwoReLUsSetLikeTheLessonsSlidersFitTheCurveAsWellAsTheQuadratic()
    {
        // One ReLU falling to the left, one rising to the right (state_dict order: a₁ a₂, b₁ b₂, v₁ v₂, c).
        var fit = await FitAsync(new
        {
            x = LessonData.X, y = LessonData.Y, model = new { type = "relu", units = 2 }, loss = "mse", learningRate = 0.05, steps = 3000,
            initialParams = new[] { -1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0 }, optimizer = new { type = "adam" },
        });

        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(7, fit.Params!.Length);
        Assert.True(fit.Loss < QuadraticStart / 5, $"loss {fit.Loss}; the quadratic starts at {QuadraticStart}");
        Assert.True(fit.Loss < QuadraticOptimum * 1.01, $"loss {fit.Loss}; the best quadratic has {QuadraticOptimum}");
        Assert.True(fit.ParamsByLayer![0].Values[0] < 0 && fit.ParamsByLayer[0].Values[1] > 0, "the two ReLUs still face apart");
    }

    [Theory]
    [InlineData(8)]
    [InlineData(32)]
    public async Task TheLessonsCurveIsFittedBySeededSumsOfReLUsBetterThanByTheQuadratic(int units)
    {
        var fit = await FitAsync(new
        {
            x = LessonData.X, y = LessonData.Y, model = new { type = "relu", units }, loss = "mse", learningRate = 0.05, steps = 3000,
            seed = 0, optimizer = new { type = "adam" },
        });

        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(3 * units + 1, fit.Params!.Length);
        // More ReLUs bend closer to the points than any quadratic can (the rest is the data's noise).
        Assert.True(fit.Loss < QuadraticStart / 5 && fit.Loss < QuadraticOptimum * 0.8, $"loss {fit.Loss} with {units} ReLUs; the best quadratic has {QuadraticOptimum}");
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], fit.ParamsByLayer!.Select(l => l.Name));
        Assert.Equal([units, 1], fit.ParamsByLayer![0].Shape);
        Assert.Equal([1, units], fit.ParamsByLayer[2].Shape);
        Assert.Equal([1], fit.ParamsByLayer[3].Shape);
        Assert.Equal(fit.Params, fit.ParamsByLayer.SelectMany(l => l.Values));
        Assert.Equal("relu", fit.Request.Model!.Type);
        Assert.Equal(0, fit.Request.Seed);
        Assert.Null(fit.Request.Degree);
        Assert.Equal("notApplicable", fit.OptimumStatus);
        Assert.Equal(fit.Loss!.Value, Math.Pow(fit.Statistics!.Rmse!.Value, 2), 9);
    }

    [Theory]
    [InlineData("relu")]
    [InlineData("titanic")]
    public async Task TheSwaggerExamplesOfNetworksSucceedAsServed(string example)
    {
        var document = await _client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
        var body = document.GetProperty("paths").GetProperty("/v1/fits").GetProperty("post").GetProperty("requestBody").GetProperty("content")
            .GetProperty("application/json").GetProperty("examples").GetProperty(example).GetProperty("value").GetRawText();

        var response = await _client.PostAsync("/v1/fits", TestApi.JsonBody(body));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var fit = await response.ReadFit();
        for (var i = 0; i < 20 && fit.Status is "queued" or "running"; i++) fit = await _client.WaitForEnd(fit.Id, 30);
        Assert.Equal("succeeded", fit.Status);
        Assert.True(fit.Loss < fit.History![0], $"loss {fit.Loss} from {fit.History[0]}");
    }

    [Fact]
    public async Task ThePlotOfASumOfReLUsDrawsEachReLUsPart()
    {
        var fit = await FitAsync(new { x = LessonData.X, y = LessonData.Y, model = new { type = "relu", units = 4 }, learningRate = 0.05, steps = 300, optimizer = new { type = "adam" } });

        var svg = await _client.GetStringAsync($"/v1/fits/{fit.Id}/plot.svg");
        Assert.Contains("id=\"fit-curve\"", svg);
        Assert.Contains("id=\"initial-curve\"", svg); // PyTorch's initialization drawn from seed 0
        Assert.Equal(4, System.Text.RegularExpressions.Regex.Count(svg, "id=\"relu-\\d+\""));
        Assert.Contains("4 ReLUs", svg);
    }

    [Fact]
    public async Task AFitOfSeveralFeaturesHasNoCurveToDraw()
    {
        var fit = await FitAsync(new { x = Titanic.Rows(30), y = Titanic.Survived(30), model = new { type = "linear" }, learningRate = 0.001, steps = 5 });

        var response = await _client.GetAsync($"/v1/fits/{fit.Id}/plot.svg");
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("6 features", (await response.ReadProblem()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v1/fits/{fit.Id}/loss.svg")).StatusCode);
    }

    [Fact]
    public async Task TheSameNetworkRequestGivesBitIdenticalParamsAndHistory()
    {
        object Body() => new
        {
            x = LessonData.X, y = LessonData.Y, model = new { type = "mlp", layers = new[] { 6, 6 }, activation = "tanh" }, learningRate = 0.01,
            steps = 200, seed = 42, batchSize = 7, shuffle = true, optimizer = new { type = "adam" },
        };
        var first = await FitAsync(Body());
        var second = await FitAsync(Body());

        Assert.Equal("succeeded", first.Status);
        Assert.Equal(first.Params!.Select(BitConverter.DoubleToInt64Bits), second.Params!.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(first.History!.Select(h => BitConverter.DoubleToInt64Bits(h!.Value)), second.History!.Select(h => BitConverter.DoubleToInt64Bits(h!.Value)));
        Assert.Equal(200, first.History!.Length);
    }

    [Fact]
    public async Task ATitanicLikeTableIsFittedByALinearModelToItsLeastSquaresOptimum()
    {
        var fit = await FitAsync(new
        {
            x = Titanic.Rows(300), y = Titanic.Survived(300), model = new { type = "linear" }, loss = "mse", standardize = true,
            learningRate = 0.05, steps = 2000, optimizer = new { type = "adam" },
        });

        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(7, fit.Params!.Length);
        Assert.Equal(6, fit.Request.Features);
        Assert.Equal(6, fit.Standardization!.Means.Length);
        // Standardized features: the descent reaches the exact least-squares optimum of the same model.
        Assert.Equal("ready", fit.OptimumStatus);
        Assert.True(fit.Gap < 1e-6, $"gap {fit.Gap}");
        Assert.Equal(fit.Optimum!.Params, fit.Params, (a, b) => Math.Abs(a - b) < 1e-3);
    }

    [Fact]
    public async Task EvaluateGivesANetworksLossAtItsParamsAsTheFitDoes()
    {
        var fit = await FitAsync(new { x = Titanic.Rows(40), y = Titanic.Survived(40), model = new { type = "mlp", layers = new[] { 3 } }, loss = "bce", learningRate = 0.01, steps = 50, optimizer = new { type = "adam" } });

        var response = await _client.PostAsJsonAsync("/v1/evaluate", new { x = Titanic.Rows(40), y = Titanic.Survived(40), model = new { type = "mlp", layers = new[] { 3 } }, loss = "bce", @params = fit.Params });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(fit.Loss!.Value, (await response.Content.ReadFromJsonAsync<EvaluateResult>(TestApi.Json))!.Loss!.Value, 12);

        var wrong = await _client.PostAsJsonAsync("/v1/evaluate", new { x = Titanic.Rows(40), y = Titanic.Survived(40), model = new { type = "mlp", layers = new[] { 3 } }, loss = "bce", @params = new[] { 1.0 } });
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Contains("the network's number of params (25)", (await wrong.ReadProblem()).GetProperty("errors").GetProperty("params")[0].GetString());
    }

    [Fact]
    public async Task TheExactSolverGivesALinearModelsLeastSquaresDirectly()
    {
        var fit = await FitAsync(new { x = Titanic.Rows(300), y = Titanic.Survived(300), model = new { type = "linear" }, standardize = true, solver = "exact" });

        Assert.Equal("succeeded", fit.Status);
        Assert.Equal("exact", fit.StopReason);
        Assert.Equal(fit.Optimum!.Params, fit.Params);
        Assert.Equal(6, fit.Standardization!.Scales.Length);
        Assert.Equal(0, fit.Gap);
    }

    [Fact]
    public async Task AnMlpWithBceLearnsWhoSurvivesAndPredictsProbabilities()
    {
        var rows = Titanic.Rows(400);
        var survived = Titanic.Survived(400);
        var fit = await FitAsync(new
        {
            x = rows, y = survived, model = new { type = "mlp", layers = new[] { 8 }, activation = "relu" }, loss = "bce",
            standardize = true, batchSize = 32, shuffle = true, seed = 7, epochs = 40, learningRate = 0.01, optimizer = new { type = "adam" },
        });

        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(40 * 13, fit.Steps);
        Assert.Equal(40, fit.Request.Epochs);
        Assert.True(fit.Loss < 0.6, $"bce {fit.Loss}, a coin flip is ln 2 = 0.693");
        Assert.Null(fit.Statistics); // residual statistics describe a regression, not a classifier

        var response = await _client.PostAsJsonAsync($"/v1/fits/{fit.Id}/predict", new { x = rows });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var predicted = await response.Content.ReadFromJsonAsync<PredictResult>(TestApi.Json);
        Assert.Equal(400, predicted!.Probabilities!.Length);
        for (var i = 0; i < 400; i++) Assert.Equal(1 / (1 + Math.Exp(-predicted.Y[i]!.Value)), predicted.Probabilities[i]!.Value, 12);
        var correct = Enumerable.Range(0, 400).Count(i => (predicted.Probabilities[i] >= 0.5) == (survived[i] == 1));
        Assert.True(correct > 0.7 * 400, $"{correct} of 400 right");
    }

    [Fact]
    public async Task CsvColumnsChosenByNameAreTheFeatures()
    {
        var content = new StringContent(Titanic.Csv(200), Encoding.UTF8, "text/csv");
        var response = await _client.PostAsync("/v1/fits?x=sex,pclass,age&y=survived&model=linear&standardize=true&learningRate=0.05&steps=500&optimizer=adam", content);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var fit = await response.ReadFit();
        for (var i = 0; i < 20 && fit.Status is "queued" or "running"; i++) fit = await _client.WaitForEnd(fit.Id, 30);
        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(3, fit.Request.Features);
        Assert.Equal(200, fit.Request.Points);
        // Being female weighs most, then the class: the columns arrived in the order named.
        Assert.True(fit.Params![0] > 0 && fit.Params[1] < 0, string.Join(", ", fit.Params));

        var csv = new StringContent("sex,pclass,age\n1,1,30\n0,3,30\n", Encoding.UTF8, "text/csv");
        var predicted = await _client.PostAsync($"/v1/fits/{fit.Id}/predict?x=sex,pclass,age", csv);
        Assert.Equal(HttpStatusCode.OK, predicted.StatusCode);
        var values = (await predicted.Content.ReadFromJsonAsync<PredictResult>(TestApi.Json))!.Y;
        Assert.True(values[0] > values[1]);
    }

    [Fact]
    public async Task PredictionsTakeRowsOfTheFitsFeaturesOnly()
    {
        var fit = await FitAsync(new { x = Titanic.Rows(50), y = Titanic.Survived(50), model = new { type = "linear" }, learningRate = 0.001, steps = 10 });

        var wrongWidth = await _client.PostAsJsonAsync($"/v1/fits/{fit.Id}/predict", new { x = new[] { new[] { 1.0, 2.0 } } });
        Assert.Equal(HttpStatusCode.BadRequest, wrongWidth.StatusCode);
        Assert.Contains("takes 6 features", (await wrongWidth.ReadProblem()).GetProperty("errors").GetProperty("x")[0].GetString());

        var numbers = await _client.PostAsJsonAsync($"/v1/fits/{fit.Id}/predict", new { x = new[] { 1.0, 2.0 } });
        Assert.Equal(HttpStatusCode.BadRequest, numbers.StatusCode);
    }

    public static TheoryData<string, string, string> Invalid => new()
    {
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu"}}""", "model.units", "is required" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":0}}""", "model.units", "must be between 1 and 1024" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":100000}}""", "model.units", "must be between 1 and 1024" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"mlp","layers":[]}}""", "model.layers", "has 0 layers" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"mlp","layers":[4,4,4,4,4,4,4,4,4]}}""", "model.layers", "has 9 layers" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"mlp","layers":[4,-1]}}""", "model.layers", "layer 1 has -1 units" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"mlp","layers":[4],"activation":"gelu"}}""", "model.activation", "must be one of relu, tanh, sigmoid" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"mlp","layers":[1024,1024]}}""", "model", "has 1052673 params with 1 feature; at most 100000 (Limits:MaxNetworkParams)" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":3,"layers":[3]}}""", "model.layers", "applies only to model type mlp" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"linear","formula":"a*x"}}""", "model.formula", "does not apply to model type linear" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"cnn"}}""", "model.type", "must be one of formula, relu, mlp, linear" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":2},"degree":2}""", "degree", "does not apply with model" },
        { """{"x":[[1,2],[3]],"y":[1,2],"model":{"type":"linear"}}""", "x", "row 1 has 1 value; row 0 has 2" },
        { """{"x":[[1,2],[3,4]],"y":[1,2],"degree":1}""", "x", "is a list of rows (many features): that needs a network model" },
        { """{"x":[[1,2],[3,4]],"y":[1,2,3],"model":{"type":"linear"}}""", "y", "length 3 differs from x (2)" },
        { """{"x":[[],[]],"y":[1,2],"model":{"type":"linear"}}""", "x", "rows must have at least 1 value" },
        { """{"x":[[1,2],"a"],"y":[1,2],"model":{"type":"linear"}}""", "x[1]", "must be an array of numbers, or an array of rows" },
        { """{"x":[[1,1e400]],"y":[1],"model":{"type":"linear"}}""", "x", "row 0, value 1 is not finite" },
        { """{"x":[1,2,3],"y":[0,1,2],"model":{"type":"relu","units":2},"loss":"bce"}""", "y", "value at index 2 is 2; loss bce needs every y in [0, 1]" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":2},"initialParams":[1,2,3]}""", "initialParams", "length 3 differs from the network's number of params (7)" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":2},"batchSize":4}""", "batchSize", "must be between 1 and the number of points (3)" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":2},"batchSize":0,"epochs":2}""", "batchSize", "must be between 1 and the number of points (3)" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":2},"batchSize":-5,"epochs":2}""", "batchSize", "must be between 1 and the number of points (3)" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":2},"seed":-1}""", "seed", "must be ≥ 0" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":2},"epochs":0}""", "epochs", "must be ≥ 1" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":2},"epochs":3,"steps":3}""", "epochs", "give either steps or epochs" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":2},"epochs":2000000000,"batchSize":1}""", "epochs", "2000000000 epochs of 3 batches are 6000000000 steps" },
        { """{"x":[1,2,3],"y":[1,2,3],"degree":1,"batchSize":2}""", "batchSize", "applies only to the network models" },
        { """{"x":[1,2,3],"y":[1,2,3],"degree":1,"standardize":true}""", "standardize", "applies only to the network models" },
        { """{"x":[1,2,3],"y":[1,2,3],"model":{"type":"relu","units":2},"solver":"exact"}""", "solver", "the exact solver does not apply" },
        { """{"x":[[1],[2],[3]],"y":[1,2,3],"model":{"type":"linear"},"loss":"mae","solver":"exact"}""", "solver", "the exact solver applies to model linear only with loss mse" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task AnInvalidNetworkRequestIsA400NamingTheFieldAndRule(string body, string field, string rule)
    {
        var response = await _client.PostAsync("/v1/fits", TestApi.JsonBody(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"no error for '{field}' in {errors}");
        Assert.Contains(messages.EnumerateArray(), m => m.GetString()!.Contains(rule, StringComparison.Ordinal));
    }

    [Fact]
    public void TheServiceCountsANetworksWorkAsTheEngineEstimatesIt()
    {
        var request = new FitRequest
        {
            X = Titanic.Rows(100), Y = Titanic.Survived(100), Model = new ModelDto { Type = "mlp", Layers = [16, 8] }, Loss = "bce",
            LearningRate = new LearningRateValue(0.01), Epochs = 7, BatchSize = 32,
        };
        var valid = Api.Fits.FitValidator.Validate(request, new LimitsOptions(), new Api.Fits.ValidationErrors())!;

        Assert.Equal(28, valid.Spec.Steps);
        Assert.Equal(Engine.Networks.Network.EstimateWork(Api.Fits.FitValidator.ToProblem(valid.Spec, valid.X, valid.Y)), Api.Fits.FitWork.Of(valid.Spec));
    }

    [Fact]
    public async Task ANetworkHeavierThanMaxWorkIsRefused()
    {
        var (x, y) = TestApi.TiledLesson(1000);
        var response = await _client.PostFit(new { x, y, model = new { type = "mlp", layers = new[] { 256, 256 } }, learningRate = 0.01, steps = 10_000_000 });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
    }
}
