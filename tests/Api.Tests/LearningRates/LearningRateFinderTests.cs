using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using FitService.Api.LearningRates;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.LearningRates;

/// <summary>POST /v1/lr-finder, its curve and plot, and <c>learningRate: "auto"</c> on a fit.</summary>
public sealed class LearningRateFinderTests(LearningRateFinderTests.Service factory) : IClassFixture<LearningRateFinderTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"));

    private readonly HttpClient _client = factory.CreateClient();

    private static readonly object LessonMse = new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", initialParams = new[] { 1.1, 1.1, 1.1 } };

    private async Task<(HttpResponseMessage Response, LearningRateFinderResource Run)> Find(object body, bool wait = true)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/lr-finder") { Content = JsonContent.Create(body) };
        if (wait) request.Headers.TryAddWithoutValidation("Prefer", "wait=30");
        var response = await _client.SendAsync(request);
        return (response, (await response.Content.ReadFromJsonAsync<LearningRateFinderResource>(TestApi.Json))!);
    }

    [Fact]
    public async Task TheFinderSuggestsARateBelowTheStableBoundOfMse()
    {
        var (response, run) = await Find(LessonMse);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v1/lr-finder/{run.Id}", response.Headers.Location!.OriginalString);
        Assert.Equal("succeeded", run.Status);
        Assert.Equal("exploded", run.StopReason);
        var bound = 2 / LearningRateAdvice.LargestHessianEigenvalue(LessonData.X, 2);
        Assert.True(run.Suggestions!.Steep < bound && run.Suggestions.Minimum < bound, $"{run.Suggestions} vs 2/λmax = {bound}");
        Assert.Equal(Math.Min(run.Suggestions.Steep!.Value, run.Suggestions.Minimum!.Value), run.Suggested);
        Assert.Equal(1e-7, run.Curve![0].LearningRate);
        Assert.True(run.Curve.Count < 100);
        Assert.Equal(100, run.Request.Steps);
        Assert.Equal(10, run.Request.EndLearningRate);

        var again = await _client.GetFromJsonAsync<LearningRateFinderResource>($"/v1/lr-finder/{run.Id}", TestApi.Json);
        Assert.Equal(run.Suggested, again!.Suggested);
    }

    [Fact]
    public async Task ThePlotShowsTheCurveOnALogAxisWithBothSuggestions()
    {
        var (_, run) = await Find(LessonMse);

        var response = await _client.GetAsync($"/v1/lr-finder/{run.Id}/plot.svg");

        Assert.Equal("image/svg+xml", response.Content.Headers.ContentType!.MediaType);
        var svg = XDocument.Parse(await response.Content.ReadAsStringAsync());
        var ids = svg.Descendants().Select(e => (string?)e.Attribute("id")).Where(i => i is not null).ToHashSet();
        Assert.Contains("smoothed-loss", ids);
        Assert.Contains("steep-marker", ids);
        Assert.Contains("minimum-marker", ids);
        Assert.Contains("learning rate (log scale)", svg.ToString());
    }

    [Fact]
    public async Task AFinderRunIsNotAFit()
    {
        var (_, run) = await Find(LessonMse);

        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v1/fits/{run.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.PostAsync($"/v1/fits/{run.Id}/cancel", null)).StatusCode);
        var list = await _client.GetFromJsonAsync<JsonElement>("/v1/fits?limit=500");
        Assert.DoesNotContain(list.GetProperty("items").EnumerateArray(), f => f.GetProperty("id").GetString() == run.Id);
        var fit = await (await _client.PostFit(TestApi.SmallFit(), ("Prefer", "wait=30"))).ReadFit();
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v1/lr-finder/{fit.Id}")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/v1/lr-finder/{run.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v1/lr-finder/{run.Id}")).StatusCode);
    }

    [Fact]
    public async Task SweepSettingsAreValidated()
    {
        var response = await _client.PostAsJsonAsync("/v1/lr-finder", new
        {
            x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", startLearningRate = 1.0, endLearningRate = 0.5, steps = 5, learningRate = 0.1,
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        // A finder run sweeps its own rates; the closest field it has is named.
        Assert.Equal("is not a known field; did you mean endLearningRate?", (await response.ReadProblem()).GetProperty("errors").GetProperty("learningRate")[0].GetString());

        var bad = await _client.PostAsJsonAsync("/v1/lr-finder", new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", startLearningRate = 1.0, endLearningRate = 0.5, steps = 5 });
        var errors = (await bad.ReadProblem()).GetProperty("errors");
        Assert.Equal("must be finite and > startLearningRate", errors.GetProperty("endLearningRate")[0].GetString());
        Assert.Equal("must be between 10 and 10000", errors.GetProperty("steps")[0].GetString());
    }

    [Fact]
    public async Task LearningRateAutoRunsTheFinderFirstAndRecordsItsChoice()
    {
        var response = await _client.PostFit(new
        {
            x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = "auto", steps = 2000, initialParams = new[] { 1.1, 1.1, 1.1 },
        }, ("Prefer", "wait=30"));

        var fit = await response.ReadFit();
        Assert.Equal("succeeded", fit.Status);
        Assert.True(fit.Request.LearningRate!.Value.IsAuto);
        var bound = 2 / LearningRateAdvice.LargestHessianEigenvalue(LessonData.X, 2);
        Assert.True(fit.LearningRateChosen is > 0 && fit.LearningRateChosen < bound, $"chosen {fit.LearningRateChosen}, bound {bound}");
        Assert.Equal(Math.Min(fit.LearningRateSuggestions!.Steep!.Value, fit.LearningRateSuggestions.Minimum!.Value), fit.LearningRateChosen);
        // It converges: the loss falls throughout and closes in on the optimum.
        var history = fit.History!;
        Assert.True(history.Zip(history.Skip(1)).All(p => p.Second <= p.First * (1 + 1e-12)));
        Assert.True(fit.Gap < 0.01 * (history[0]!.Value - fit.Optimum!.Loss!.Value), $"gap {fit.Gap}");
        var json = await _client.GetStringAsync($"/v1/fits/{fit.Id}");
        Assert.Contains("\"learningRate\":\"auto\"", json);
    }

    [Theory]
    [InlineData("\"fast\"")]
    [InlineData("true")]
    [InlineData("[0.1]")]
    public async Task LearningRateIsANumberOrAuto(string value)
    {
        var body = $$"""{"x":[1,2,3],"y":[1,2,3],"degree":1,"loss":"mse","steps":10,"learningRate":{{value}}}""";
        var response = await _client.PostAsync("/v1/fits", TestApi.JsonBody(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("must be a finite number or \"auto\"", (await response.ReadProblem()).GetProperty("errors").GetProperty("learningRate")[0].GetString());
    }
}
