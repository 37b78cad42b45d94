using System.Net;
using FitService.Api.Evaluation;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.Plots;

/// <summary><c>POST /v1/evaluate</c>: the loss at given params, exactly as the engine computes it, validated like a fit.</summary>
public sealed class EvaluateTests(EvaluateTests.Service factory) : IClassFixture<EvaluateTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "0"));

    private readonly HttpClient _client = factory.CreateClient();

    private async Task<HttpResponseMessage> Evaluate(object body) => await _client.PostAsJsonAsync("/v1/evaluate", body);

    [Theory]
    [InlineData("mae", null)]
    [InlineData("mse", null)]
    [InlineData("huber", 2.0)]
    public async Task TheLossIsTheEnginesBitForBit(string loss, double? huberDelta)
    {
        double[] parameters = [2.5, 1.75, -0.5];
        var response = await Evaluate(new { x = LessonData.X, y = LessonData.Y, degree = 2, loss, huberDelta, @params = parameters });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<EvaluateResult>(TestApi.Json);
        var expected = Fitter.Evaluate(LessonData.X, LessonData.Y, 2, new LossSpec(loss switch { "mse" => LossKind.Mse, "huber" => LossKind.Huber, _ => LossKind.Mae }, huberDelta ?? 1.0), parameters);
        Assert.Equal(expected, result!.Loss);
    }

    [Fact]
    public async Task TheLessonsStartingLossIs2Point4219()
    {
        var result = await (await Evaluate(new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", @params = LessonData.InitialParams }))
            .Content.ReadFromJsonAsync<EvaluateResult>(TestApi.Json);

        Assert.Equal(2.4219, result!.Loss!.Value, 4);
    }

    [Fact]
    public async Task BadFieldsAre400NamingEachOne()
    {
        var response = await Evaluate(new { x = new[] { 1.0, 2.0 }, y = new[] { 1.0 }, degree = 2, loss = "mae", huberDelta = 1.0, @params = new[] { 1.0 } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("y", out _));
        Assert.True(errors.TryGetProperty("huberDelta", out _));
        Assert.Contains("differs from degree + 1", errors.GetProperty("params")[0].GetString());
    }

    [Fact]
    public async Task MissingParamsAndUnknownFieldsAre400()
    {
        var missing = await (await Evaluate(new { x = new[] { 1.0 }, y = new[] { 1.0 }, degree = 0, loss = "mse" })).ReadProblem();
        Assert.Equal("is required", missing.GetProperty("errors").GetProperty("params")[0].GetString());

        var unknown = await (await Evaluate(new { x = new[] { 1.0 }, y = new[] { 1.0 }, degree = 0, loss = "mse", @params = new[] { 1.0 }, steps = 3 })).ReadProblem();
        Assert.Equal("is not a known field", unknown.GetProperty("errors").GetProperty("steps")[0].GetString());
    }

    [Fact]
    public async Task ANonJsonBodyIs415()
    {
        var response = await _client.PostAsync("/v1/evaluate", new StringContent("x,y\n1,2", System.Text.Encoding.UTF8, "text/csv"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }
}
