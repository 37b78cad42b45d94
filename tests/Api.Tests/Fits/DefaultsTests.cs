using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.Fits;

/// <summary>The smallest request fits well; fields that do not apply are ignored with a warning; typos name the field meant.</summary>
public sealed class DefaultsTests(DefaultsTests.Service factory) : IClassFixture<DefaultsTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task XAndYAloneFitAQuadraticByLeastSquaresUntilConverged()
    {
        var fit = await _client.WaitForEnd((await (await _client.PostFit(new { x = LessonData.X, y = LessonData.Y })).ReadFit()).Id, 120);

        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(2, fit.Request.Degree);
        Assert.Equal("mse", fit.Request.Loss);
        Assert.True(fit.Request.LearningRate!.Value.IsAuto);
        Assert.Equal(FitValidator.DefaultSteps, fit.Request.Steps);
        Assert.Equal(0, fit.Request.Stop!.MinImprovement);
        Assert.Equal(FitValidator.DefaultPatience, fit.Request.Stop.Patience);
        Assert.Equal("converged", fit.StopReason);
        Assert.True(fit.Step < FitValidator.DefaultSteps);
        // A good fit: the descent ends at the least-squares optimum, up to rounding.
        Assert.True(fit.Gap < 1e-9 * fit.Optimum!.Loss, $"gap {fit.Gap} at loss {fit.Optimum.Loss}");
        Assert.Null(fit.Warnings);
    }

    [Fact]
    public async Task XFarFromZeroStillConvergesBecauseTheDefaultDescentRunsOnScaledX()
    {
        var x = Enumerable.Range(0, 40).Select(i => 10 + 25.0 * i / 39).ToArray();
        var y = x.Select((t, i) => 200 + 12 * t - 0.15 * t * t + 8 * Math.Sin(7 * i)).ToArray();

        var fit = await _client.WaitForEnd((await (await _client.PostFit(new { x, y })).ReadFit()).Id, 120);

        Assert.Equal(new XScaling(22.5, 12.5), fit.Request.ScaleX);
        Assert.Equal("converged", fit.StopReason);
        Assert.True(fit.Gap < 1e-9 * fit.Optimum!.Loss, $"gap {fit.Gap} at loss {fit.Optimum.Loss}");
        // Params in powers of x, not of the scaled x: the optimum's to many digits.
        for (var j = 0; j < 3; j++) Assert.Equal(fit.Optimum.Params[j], fit.Params![j], Math.Abs(fit.Optimum.Params[j]) * 1e-6);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ParamsOfTheScaledDescentThatOverflowInPowersOfXEndTheFitAsDivergedSayingWhy(bool waiting)
    {
        // Subnormal x: the descent runs well on x scaled to [−1, 1], but the same line in powers of x has a slope of ~1e322,
        // beyond a double. Waited for, the fit runs on its request; otherwise a worker runs it.
        var x = Enumerable.Range(1, 25).Select(i => i * double.Epsilon).ToArray();
        var y = Enumerable.Range(0, 25).Select(i => 0.1 * i).ToArray();

        var answer = await _client.PostFit(new { x, y, degree = 1, steps = 20 }, waiting ? [("Prefer", "wait=60")] : []);
        var id = (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{id}");
        request.Headers.TryAddWithoutValidation("Prefer", "wait=60");
        var fit = await (await _client.SendAsync(request)).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(JsonValueKind.Object, fit.GetProperty("request").GetProperty("scaleX").ValueKind);
        Assert.Equal("failed", fit.GetProperty("status").GetString());
        Assert.Equal("diverged", fit.GetProperty("stopReason").GetString());
        Assert.Contains("powers of x", fit.GetProperty("error").GetString());
        Assert.DoesNotContain("Parameter", fit.GetProperty("error").GetString());
    }

    [Fact]
    public async Task AnExplicitRequestKeepsItsOwnStepsAndNoStopRule()
    {
        var fit = await (await _client.PostFit(new
        {
            x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", learningRate = 0.01, steps = 100, initialParams = new[] { 1.1, 1.1, 1.1 },
        }, ("Prefer", "wait=30"))).ReadFit();

        Assert.Equal("steps", fit.StopReason);
        Assert.Equal(100, fit.Step);
        Assert.Null(fit.Request.Stop);
        Assert.Null(fit.Request.ScaleX);
        Assert.Equal(2.4219, fit.History![0]!.Value, 4); // the lesson's first printed loss
        Assert.DoesNotContain("\"warnings\"", await _client.GetStringAsync($"/v1/fits/{fit.Id}"));
    }

    [Fact]
    public async Task StepsWithoutStopRunThemAll()
    {
        var fit = await (await _client.PostFit(new { x = LessonData.X, y = LessonData.Y, learningRate = 0.01, steps = 50 }, ("Prefer", "wait=30"))).ReadFit();

        Assert.Equal(50, fit.Step);
        Assert.Null(fit.Request.Stop);
    }

    [Fact]
    public async Task SolverExactIgnoresTheFieldsOfADescentWithAWarningEach()
    {
        var response = await _client.PostFit(new
        {
            x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", solver = "exact", learningRate = 0.1, steps = 10,
            optimizer = new { type = "adam" }, initialParams = new[] { 1.0 },
        }, ("Prefer", "wait=30"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var fit = await response.ReadFit();
        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(
            ["learningRate does not apply to solver exact and was ignored", "steps does not apply to solver exact and was ignored",
             "initialParams does not apply to solver exact and was ignored", "optimizer does not apply to solver exact and was ignored"],
            fit.Warnings!);
        Assert.Null(fit.Request.Warnings);
        Assert.Equal(fit.Warnings, (await _client.WaitForEnd(fit.Id)).Warnings);
    }

    [Fact]
    public async Task AnUnknownFieldNamesTheClosestKnownOneBesideTheOtherErrors()
    {
        var response = await _client.PostAsync("/v1/fits", TestApi.JsonBody("""{"x":[1,2,3],"y":[1,2],"lr":0.1,"stesp":10,"optimizer":{"type":"sgd","momentun":0.9}}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.Equal("is not a known field; did you mean learningRate?", errors.GetProperty("lr")[0].GetString());
        Assert.Equal("is not a known field; did you mean steps?", errors.GetProperty("stesp")[0].GetString());
        Assert.Equal("is not a known field; did you mean momentum?", errors.GetProperty("optimizer.momentun")[0].GetString());
        Assert.Equal("length 2 differs from x (3)", errors.GetProperty("y")[0].GetString());
    }

    [Fact]
    public async Task AFieldFarFromEveryKnownOneGetsNoGuess()
    {
        var response = await _client.PostAsync("/v1/fits", TestApi.JsonBody("""{"x":[1,2,3],"y":[1,2,3],"colour":"red"}"""));

        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.Equal(["is not a known field"], errors.GetProperty("colour").EnumerateArray().Select(e => e.GetString()));
        Assert.Single(errors.EnumerateObject());
    }

    [Fact]
    public async Task AMillionUnknownFieldsAreCappedAtTwenty()
    {
        var body = "{\"x\":[1],\"y\":[1]," + string.Join(",", Enumerable.Range(0, 50_000).Select(i => $"\"f{i}\":1")) + "}";
        var response = await _client.PostAsync("/v1/fits", TestApi.JsonBody(body));

        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.Equal(KnownFields.MaxReported, errors.EnumerateObject().Count());
    }

    [Fact]
    public void TheDefaultStepsNeverMakeAFitTooHeavy()
    {
        var limits = new LimitsOptions { MaxWork = 1_000_000 };
        var valid = FitValidator.Validate(new FitRequest { X = new double[1000], Y = new double[1000] }, limits, new ValidationErrors())!;

        Assert.True(FitWork.Of(valid.Spec) <= limits.MaxWork, $"work {FitWork.Of(valid.Spec)}");
        Assert.True(valid.Spec.Steps >= 1);
    }
}
