// The scenario, run with the C# client NSwag generates from the served OpenAPI document (Gen.NSwag, Client.cs beside).
using System.Text;
using System.Text.Json;
using Gen.NSwag;
using static Scenario;

var baseUrl = args[0];
using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
var client = new FitServiceClient(http) { BaseUrl = baseUrl };
var label = "nswag-" + Guid.NewGuid().ToString("N");
var ended = new[] { FitResourceStatus.Succeeded, FitResourceStatus.Failed, FitResourceStatus.Cancelled };

// The lesson, submitted and waited for.
var lesson = await client.SubmitFitAsync(null, "wait=30", new FitRequest
{
    X = Numbers("x"), Y = Numbers("y"), Degree = 2, Loss = FitRequestLoss.Mae, LearningRate = 0.01, Steps = 100,
    InitialParams = Numbers("initialParams"), Label = label,
});
lesson = await UntilAsync(() => client.GetFitAsync(lesson.Id, "wait=30", null), f => ended.Contains(f.Status), "the lesson");
Check(lesson.Status == FitResourceStatus.Succeeded && lesson.StopReason == FitResourceStopReason.Steps, "the lesson succeeded after all its steps");
Check(lesson.History.Count == 100 && lesson.Loss < lesson.History.First(), "100 losses recorded, the last below the first");

// Its history, paged as JSON and as CSV.
var pages = new List<HistoryEntry>();
for (var offset = 0; offset < 100; offset += 40) pages.AddRange((await client.GetFitHistoryAsync(lesson.Id, offset, 40)).Items);
Check(pages.Select(e => e.Step).SequenceEqual(Enumerable.Range(0, 100)), "history paged as JSON: steps 0 to 99");
Check(pages.Select(e => e.Loss).SequenceEqual(lesson.History), "the pages hold the fit's history");
using (var csvRequest = new HttpRequestMessage(HttpMethod.Get, $"{baseUrl}/v1/fits/{lesson.Id}/history?offset=90&limit=10"))
{
    csvRequest.Headers.Accept.ParseAdd("text/csv");
    var csv = await (await http.SendAsync(csvRequest)).Content.ReadAsStringAsync();
    Check(csv.StartsWith("step,loss\n") && csv.TrimEnd('\n').Split('\n').Length == 11, "history paged as CSV");
}

// The list, read while a fit with learningRate "auto" exists.
var auto = await client.SubmitFitAsync(null, "wait=30", new FitRequest
{
    X = Numbers("x"), Y = Numbers("y"), Degree = 2, Loss = FitRequestLoss.Mse, LearningRate = "auto", Steps = 50, Label = label,
});
auto = await UntilAsync(() => client.GetFitAsync(auto.Id, "wait=30", null), f => ended.Contains(f.Status), "the auto fit");
var list = await client.ListFitsAsync(null, label, 50, null);
Check(list.Items.Count == 2, "the list holds both fits");
Check(list.Items.Single(f => f.Id == auto.Id).Request.LearningRate?.ToString() == "auto", "learningRate \"auto\" reads back as \"auto\"");
Check(Convert.ToDouble(list.Items.Single(f => f.Id == lesson.Id).Request.LearningRate, System.Globalization.CultureInfo.InvariantCulture) == 0.01,
    "a numeric learningRate reads back as a number");
Check(auto.LearningRateChosen > 0, "the auto fit says which rate it chose");

// A batch and its results.
var batch = await client.SubmitBatchAsync(Guid.NewGuid().ToString(), new BatchRequest
{
    Defaults = new BatchFitRequest { Degree = 1, Loss = BatchFitRequestLoss.Mse, LearningRate = 0.05, Steps = 200 },
    Fits = Enumerable.Range(0, 3).Select(i => new BatchFitRequest { X = [0, 1, 2, 3], Y = [1, 3 + i, 5 + 2 * i, 7 + 3 * i], Label = $"{label}-{i}" }).ToList(),
    Label = label,
});
batch = await UntilAsync(() => client.GetBatchAsync(batch.Id, "wait=30", null), b => b.Status == BatchResourceStatus.Completed, "the batch");
Check(batch.Counts.Succeeded == 3, "every fit of the batch succeeded");
// NSwag asks for the first media type the document lists for the results: CSV.
using (var results = await client.GetBatchResultsAsync(batch.Id))
{
    var lines = (await new StreamReader(results.Stream).ReadToEndAsync()).TrimEnd('\n').Split('\n');
    Check(lines[0].StartsWith("label,status,stopReason,loss,p0"), "the results as CSV, with a header line");
    var labels = lines.Skip(1).Select(l => l.Split(',')[0]).ToList();
    Check(labels.SequenceEqual(Enumerable.Range(0, 3).Select(i => $"{label}-{i}")), "the results, one row per fit in item order");
}

// A plot, downloaded.
using (var plot = await client.GetFitPlotAsync(lesson.Id))
{
    var svg = await new StreamReader(plot.Stream, Encoding.UTF8).ReadToEndAsync();
    Check(svg.Contains("<svg"), "the plot is an SVG");
}

// The lesson's curve by a sum of eight ReLUs, its params by layer.
var relu = await client.SubmitFitAsync(null, "wait=30", new FitRequest
{
    X = Numbers("x"), Y = Numbers("y"), Model = new ModelDto { Type = ModelDtoType.Relu, Units = 8 }, LearningRate = 0.05, Steps = 500, Seed = 0,
    Optimizer = new OptimizerDto { Type = OptimizerDtoType.Adam }, Label = label,
});
relu = await UntilAsync(() => client.GetFitAsync(relu.Id, "wait=30", null), f => ended.Contains(f.Status), "the relu fit");
Check(relu.Status == FitResourceStatus.Succeeded && relu.Params.Count == 25, "eight ReLUs fitted: 25 params");
Check(relu.ParamsByLayer.Select(l => l.Name).SequenceEqual(["0.weight", "0.bias", "2.weight", "2.bias"]), "the params by layer, named as PyTorch's state_dict");

Check(relu.Optimum is null && relu.OptimumStatus == FitResourceOptimumStatus.NotApplicable, "a network fit reads back a null optimum");

// Evaluate at the relu fit's params: the loss the fit reported.
var evaluated = await client.EvaluateAsync(new EvaluateRequest
{
    X = Numbers("x"), Y = Numbers("y"), Model = new ModelDto { Type = ModelDtoType.Relu, Units = 8 }, Loss = EvaluateRequestLoss.Mse,
    Params = relu.Params.Select(p => p!.Value).ToList(),
});
Check(Math.Abs(evaluated.Loss!.Value - relu.Loss!.Value) <= 1e-9 * Math.Max(1, relu.Loss.Value), "evaluate at the relu fit's params gives its loss");
var predicted = await client.PredictWithFitAsync(relu.Id, null, new PredictRequest { X = [0.5, 1.5] });
Check(predicted.Y.Count == 2 && predicted.Y.All(y => y is not null) && predicted.Probabilities is null, "a prediction of the relu fit, read as JSON");

// An mlp with bce on rows of x: sent as JSON by hand (see Scenario.MlpBceJson), read with the client.
using (var post = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/v1/fits") { Content = new StringContent(MlpBceJson(label), Encoding.UTF8, "application/json") })
{
    post.Headers.Add("Prefer", "wait=30");
    var answer = await http.SendAsync(post);
    var id = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    var mlp = await UntilAsync(() => client.GetFitAsync(id, "wait=30", null), f => ended.Contains(f.Status), "the mlp fit");
    Check(mlp.Status == FitResourceStatus.Succeeded && mlp.Request.Loss == FitSpecLoss.Bce && mlp.Request.Features == 2, "an mlp with bce fitted on rows of two features");
    Check(mlp.ParamsByLayer.Count == 4 && mlp.Standardization is not null && mlp.Optimum is null, "its params by layer and its standardization");
    using var predict = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/v1/fits/{id}/predict") { Content = new StringContent("{\"x\": [[0, 0], [3, 3]]}", Encoding.UTF8, "application/json") };
    var probabilities = JsonDocument.Parse(await (await http.SendAsync(predict)).Content.ReadAsStringAsync()).RootElement.GetProperty("probabilities");
    Check(probabilities.GetArrayLength() == 2 && probabilities[0].GetDouble() < probabilities[1].GetDouble(), "predictions on rows read probabilities");
}

// A validation error, read as problem details.
try
{
    await client.SubmitFitAsync(null, null, new FitRequest { X = [1, 2, 3], Y = [1, 2], Degree = 2, Loss = FitRequestLoss.Mse, LearningRate = 0.1, Steps = 10 });
    Check(false, "an invalid fit is refused");
}
catch (ApiException<HttpValidationProblemDetails> e)
{
    Check(e.StatusCode == 400 && e.Result.Status == 400 && e.Result.Errors.ContainsKey("y"), "the validation error names the field y");
}

Console.WriteLine("scenario passed");
