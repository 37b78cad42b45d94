using System.Net;
using System.Net.Http.Json;
using System.Text;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Security;

/// <summary>
/// Work done while the client waits (an evaluation, a prediction) is bounded by <c>Limits:MaxRequestWork</c>, counted as
/// points × params: a network of many params on many rows is a 422 naming the work and the bound, not minutes of a request
/// thread. Here the bound is 1,000 so that a sum of 8 ReLUs (25 params) reaches it at 40 points.
/// </summary>
public sealed class RequestWorkTests(RequestWorkTests.Service factory) : IClassFixture<RequestWorkTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "1"), ("Limits:MaxRequestWork", "1000"));

    private const int Params = 25; // relu 8 on one feature: (1 + 2)·8 + 1

    private readonly HttpClient _client = factory.CreateClient();

    private static double[][] Rows(int n) => [.. Enumerable.Range(0, n).Select(i => new[] { i / 10.0 })];

    private static object Evaluation(int n) => new
    {
        x = Rows(n), y = Enumerable.Range(0, n).Select(i => (double)i).ToArray(), model = new { type = "relu", units = 8 },
        loss = "mse", @params = Enumerable.Repeat(0.1, Params).ToArray(),
    };

    [Fact]
    public async Task AnEvaluationWithinTheBoundIsAnswered()
    {
        var response = await _client.PostAsJsonAsync("/v1/evaluate", Evaluation(1000 / Params));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AnEvaluationBeyondTheBoundIs422NamingItsWorkAndTheBound()
    {
        var response = await _client.PostAsJsonAsync("/v1/evaluate", Evaluation(1000 / Params + 1));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = await response.ReadProblem();
        Assert.Equal((1000 / Params + 1) * Params, problem.GetProperty("work").GetDouble());
        Assert.Equal(1000, problem.GetProperty("maxWork").GetDouble());
        Assert.Contains("Limits:MaxRequestWork", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APredictionBeyondTheBoundIs422InJsonAndCsvAndWithinItIsAnswered()
    {
        var created = await _client.PostFit(new
        {
            x = Rows(10), y = Enumerable.Range(0, 10).Select(i => (double)i).ToArray(), model = new { type = "relu", units = 8 },
            loss = "mse", learningRate = 0.01, steps = 2,
        }, ("Prefer", "wait=30"));
        var fit = await created.ReadFit();
        for (var i = 0; i < 20 && fit.Status is "queued" or "running"; i++) fit = await _client.WaitForEnd(fit.Id, 30);
        Assert.Equal("succeeded", fit.Status);

        var within = await _client.PostAsJsonAsync($"/v1/fits/{fit.Id}/predict", new { x = Rows(1000 / Params) });
        Assert.Equal(HttpStatusCode.OK, within.StatusCode);

        var beyond = await _client.PostAsJsonAsync($"/v1/fits/{fit.Id}/predict", new { x = Rows(1000 / Params + 1) });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, beyond.StatusCode);
        Assert.Equal(1000, (await beyond.ReadProblem()).GetProperty("maxWork").GetDouble());

        var csv = "x\n" + string.Concat(Enumerable.Range(0, 1000 / Params + 1).Select(i => $"{i}\n"));
        var beyondCsv = await _client.PostAsync($"/v1/fits/{fit.Id}/predict?x=x", new StringContent(csv, Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, beyondCsv.StatusCode);
        Assert.Equal("application/problem+json", beyondCsv.Content.Headers.ContentType?.MediaType);
    }
}
