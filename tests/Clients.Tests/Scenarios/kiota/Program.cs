// The scenario, run with the C# client Kiota generates from the served OpenAPI document (Gen.Kiota, generated beside).
using System.Text;
using System.Text.Json;
using Gen.Kiota;
using Gen.Kiota.Models;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Abstractions.Serialization;
using Microsoft.Kiota.Http.HttpClientLibrary;
using static Scenario;

var baseUrl = args[0];
using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
var adapter = new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http) { BaseUrl = baseUrl };
var client = new FitServiceClient(adapter);
var label = "kiota-" + Guid.NewGuid().ToString("N");
var ended = new[] { FitResource_status.Succeeded, FitResource_status.Failed, FitResource_status.Cancelled };
void Wait(RequestConfiguration<DefaultQueryParameters> c) => c.Headers.Add("Prefer", "wait=30");
static List<double?> Of(IEnumerable<double> values) => values.Select(v => (double?)v).ToList();
// x is numbers or rows (a oneOf): Kiota wraps it, one member per branch.
static FitRequest.FitRequest_x Xs(IEnumerable<double> values) => new() { Double = Of(values) };

// The lesson, submitted and waited for.
var lesson = (await client.V1.Fits.PostAsync(new FitRequest
{
    X = Xs(Numbers("x")), Y = Of(Numbers("y")), Degree = 2, Loss = FitRequest_loss.Mae, LearningRate = new UntypedDouble(0.01), Steps = 100,
    InitialParams = Of(Numbers("initialParams")), Label = label,
}, Wait))!;
lesson = await UntilAsync(async () => (await client.V1.Fits[lesson.Id!].GetAsync(Wait))!, f => ended.Contains(f.Status!.Value), "the lesson");
Check(lesson.Status == FitResource_status.Succeeded && lesson.StopReason == FitResource_stopReason.Steps, "the lesson succeeded after all its steps");
Check(lesson.History!.Count == 100 && lesson.Loss < lesson.History[0], "100 losses recorded, the last below the first");

// Its history, paged as JSON and as CSV.
var pages = new List<HistoryEntry>();
for (var offset = 0; offset < 100; offset += 40)
{
    var page = await client.V1.Fits[lesson.Id!].History.GetAsync(c => { c.QueryParameters.Offset = offset; c.QueryParameters.Limit = 40; });
    pages.AddRange(page!.Items!);
}
Check(pages.Select(e => e.Step!.Value).SequenceEqual(Enumerable.Range(0, 100)), "history paged as JSON: steps 0 to 99");
Check(pages.Select(e => e.Loss).SequenceEqual(lesson.History), "the pages hold the fit's history");
var csvRequest = client.V1.Fits[lesson.Id!].History.ToGetRequestInformation(c => { c.QueryParameters.Offset = 90; c.QueryParameters.Limit = 10; });
csvRequest.Headers.Remove("Accept");
csvRequest.Headers.Add("Accept", "text/csv");
var csv = await new StreamReader((await adapter.SendPrimitiveAsync<Stream>(csvRequest))!).ReadToEndAsync();
Check(csv.StartsWith("step,loss\n") && csv.TrimEnd('\n').Split('\n').Length == 11, "history paged as CSV");

// The list, read while a fit with learningRate "auto" exists.
var auto = (await client.V1.Fits.PostAsync(new FitRequest
{
    X = Xs(Numbers("x")), Y = Of(Numbers("y")), Degree = 2, Loss = FitRequest_loss.Mse, LearningRate = new UntypedString("auto"), Steps = 50, Label = label,
}, Wait))!;
auto = await UntilAsync(async () => (await client.V1.Fits[auto.Id!].GetAsync(Wait))!, f => ended.Contains(f.Status!.Value), "the auto fit");
var list = (await client.V1.Fits.GetAsync(c => { c.QueryParameters.Label = label; c.QueryParameters.Limit = 50; }))!;
Check(list.Items!.Count == 2, "the list holds both fits");
Check(list.Items.Single(f => f.Id == auto.Id).Request!.LearningRate is UntypedString { } rate && rate.GetValue() == "auto", "learningRate \"auto\" reads back as \"auto\"");
Check(list.Items.Single(f => f.Id == lesson.Id).Request!.LearningRate is UntypedDouble { } number && number.GetValue() == 0.01
      || list.Items.Single(f => f.Id == lesson.Id).Request!.LearningRate is UntypedDecimal { } d && d.GetValue() == 0.01m,
    "a numeric learningRate reads back as a number");
Check(auto.LearningRateChosen > 0, "the auto fit says which rate it chose");

// A batch and its results.
var batch = (await client.V1.Batches.PostAsync(new BatchRequest
{
    Defaults = new BatchFitRequest { Degree = 1, Loss = BatchFitRequest_loss.Mse, LearningRate = new UntypedDouble(0.05), Steps = 200 },
    Fits = Enumerable.Range(0, 3).Select(i => new BatchFitRequest { X = new BatchFitRequest.BatchFitRequest_x { Double = [0, 1, 2, 3] }, Y = [1, 3 + i, 5 + 2 * i, 7 + 3 * i], Label = $"{label}-{i}" }).ToList(),
    Label = label,
}, c => c.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString())))!;
batch = await UntilAsync(async () => (await client.V1.Batches[batch.Id!].GetAsync(Wait))!, b => b.Status == BatchResource_status.Completed, "the batch");
Check(batch.Counts!.Succeeded == 3, "every fit of the batch succeeded");
var results = await new StreamReader((await client.V1.Batches[batch.Id!].Results.GetAsync())!).ReadToEndAsync();
var labels = results.TrimEnd('\n').Split('\n').Select(l => JsonDocument.Parse(l).RootElement.GetProperty("label").GetString()).ToList();
Check(labels.SequenceEqual(Enumerable.Range(0, 3).Select(i => $"{label}-{i}")), "the results, one JSON line per fit in item order");

// A plot, downloaded.
var svg = await new StreamReader((await client.V1.Fits[lesson.Id!].PlotSvg.GetAsync())!, Encoding.UTF8).ReadToEndAsync();
Check(svg.Contains("<svg"), "the plot is an SVG");

// The lesson's curve by a sum of eight ReLUs, its params by layer.
var relu = (await client.V1.Fits.PostAsync(new FitRequest
{
    X = Xs(Numbers("x")), Y = Of(Numbers("y")), Model = new ModelDto { Type = ModelDto_type.Relu, Units = 8 }, LearningRate = new UntypedDouble(0.05),
    Steps = 500, Seed = 0, Optimizer = new OptimizerDto { Type = OptimizerDto_type.Adam }, Label = label,
}, Wait))!;
relu = await UntilAsync(async () => (await client.V1.Fits[relu.Id!].GetAsync(Wait))!, f => ended.Contains(f.Status!.Value), "the relu fit");
Check(relu.Status == FitResource_status.Succeeded && relu.Params!.Count == 25, "eight ReLUs fitted: 25 params");
Check(relu.ParamsByLayer!.Select(l => l.Name).SequenceEqual(["0.weight", "0.bias", "2.weight", "2.bias"]), "the params by layer, named as PyTorch's state_dict");

Check(relu.Optimum is null && relu.OptimumStatus == FitResource_optimumStatus.NotApplicable, "a network fit reads back a null optimum");

// Evaluate at the relu fit's params: the loss the fit reported.
var evaluated = (await client.V1.Evaluate.PostAsync(new EvaluateRequest
{
    X = new EvaluateRequest.EvaluateRequest_x { Double = Of(Numbers("x")) }, Y = Of(Numbers("y")), Model = new ModelDto { Type = ModelDto_type.Relu, Units = 8 },
    Loss = EvaluateRequest_loss.Mse, Params = relu.Params,
}))!;
Check(Math.Abs(evaluated.Loss!.Value - relu.Loss!.Value) <= 1e-9 * Math.Max(1, relu.Loss.Value), "evaluate at the relu fit's params gives its loss");
var predicted = (await client.V1.Fits[relu.Id!].Predict.PostAsync(new PredictRequest { X = new PredictRequest.PredictRequest_x { Double = Of([0.5, 1.5]) } }))!;
Check(predicted.Y!.Count == 2 && predicted.Y.All(y => y is not null) && predicted.Probabilities is null, "a prediction of the relu fit, read as JSON");

// An mlp with bce on rows of x: the body sent as JSON by hand (see Scenario.MlpBceJson), the answer read by the client.
var post = client.V1.Fits.ToPostRequestInformation(new FitRequest(), Wait);
post.SetStreamContent(new MemoryStream(Encoding.UTF8.GetBytes(MlpBceJson(label))), "application/json");
var mlp = (await adapter.SendAsync(post, FitResource.CreateFromDiscriminatorValue))!;
mlp = await UntilAsync(async () => (await client.V1.Fits[mlp.Id!].GetAsync(Wait))!, f => ended.Contains(f.Status!.Value), "the mlp fit");
Check(mlp.Status == FitResource_status.Succeeded && mlp.Request!.Loss == FitSpec_loss.Bce && mlp.Request.Features == 2, "an mlp with bce fitted on rows of two features");
Check(mlp.ParamsByLayer!.Count == 4 && mlp.Standardization is not null && mlp.Optimum is null, "its params by layer and its standardization");
var predictRows = client.V1.Fits[mlp.Id!].Predict.ToPostRequestInformation(new PredictRequest());
predictRows.SetStreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"x\": [[0, 0], [3, 3]]}")), "application/json");
var onRows = (await adapter.SendAsync(predictRows, PredictResult.CreateFromDiscriminatorValue))!;
Check(onRows.Probabilities!.Count == 2 && onRows.Probabilities[0] < onRows.Probabilities[1], "predictions on rows read probabilities");

// A validation error, read as problem details.
try
{
    await client.V1.Fits.PostAsync(new FitRequest { X = Xs([1, 2, 3]), Y = [1, 2], Degree = 2, Loss = FitRequest_loss.Mse, LearningRate = new UntypedDouble(0.1), Steps = 10 });
    Check(false, "an invalid fit is refused");
}
catch (HttpValidationProblemDetails e)
{
    Check(e.ResponseStatusCode == 400 && e.Status == 400 && e.Errors!.AdditionalData.ContainsKey("y"), "the validation error names the field y");
}

Console.WriteLine("scenario passed");
