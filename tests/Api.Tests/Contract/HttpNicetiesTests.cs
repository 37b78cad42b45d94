using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using FitService.Api.Batches;
using FitService.Api.LearningRates;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.Contract;

/// <summary>What client libraries rely on: ETag and 304, CORS when configured, Accept with q-values.</summary>
public sealed class HttpNicetiesTests(HttpNicetiesTests.Service factory) : IClassFixture<HttpNicetiesTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "1"));

    private readonly HttpClient _client = factory.CreateClient();

    private async Task<HttpResponseMessage> Get(string path, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        return await _client.SendAsync(request);
    }

    private async Task<string> EndedFit(int steps = 20)
    {
        var fit = await (await _client.PostFit(TestApi.SmallFit(steps: steps), ("Prefer", "wait=60"))).ReadFit();
        return (await _client.WaitForEnd(fit.Id, 60)).Id;
    }

    [Fact]
    public async Task AnUnchangedFitIs304WithItsETagAndAChangedOneIsNot()
    {
        var id = await EndedFit();
        var first = await Get($"/v1/fits/{id}");
        var tag = first.Headers.ETag!.Tag;

        var unchanged = await Get($"/v1/fits/{id}", ("If-None-Match", tag));
        var other = await Get($"/v1/fits/{id}", ("If-None-Match", "\"something-else\""));
        var weak = await Get($"/v1/fits/{id}", ("If-None-Match", "W/" + tag));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.StartsWith("\"", tag);
        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
        Assert.Equal(tag, unchanged.Headers.ETag!.Tag);
        Assert.Empty(await unchanged.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(HttpStatusCode.NotModified, weak.StatusCode);
    }

    [Fact]
    public async Task TheETagChangesWhenTheFitDoes()
    {
        var (x, y) = TestApi.TiledLesson(50);
        var submitted = await (await _client.PostFit(new { x, y, degree = 2, loss = "mse", learningRate = 0.001, steps = 200_000 })).ReadFit();
        var queued = (await Get($"/v1/fits/{submitted.Id}")).Headers.ETag!.Tag;

        var cancel = await _client.PostAsync($"/v1/fits/{submitted.Id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var afterCancel = await Get($"/v1/fits/{submitted.Id}", ("If-None-Match", queued), ("Prefer", "wait=60"));
        Assert.Equal("cancelled", (await afterCancel.ReadFit()).Status);

        Assert.Equal(HttpStatusCode.OK, afterCancel.StatusCode);
        Assert.NotEqual(queued, afterCancel.Headers.ETag!.Tag);
    }

    [Fact]
    public async Task BatchesAndFinderRunsAnswer304Too()
    {
        var batch = (await (await _client.PostAsJsonAsync("/v1/batches", new
        {
            defaults = new { degree = 1, loss = "mse", learningRate = 0.01, steps = 10 },
            fits = new[] { new { x = new[] { 0.0, 1.0 }, y = new[] { 1.0, 2.0 } } },
        })).Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!;
        var finderRequest = new HttpRequestMessage(HttpMethod.Post, "/v1/lr-finder") { Content = JsonContent.Create(new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse" }) };
        finderRequest.Headers.TryAddWithoutValidation("Prefer", "wait=60");
        var finder = (await (await _client.SendAsync(finderRequest)).Content.ReadFromJsonAsync<LearningRateFinderResource>(TestApi.Json))!;

        foreach (var path in new[] { $"/v1/batches/{batch.Id}", $"/v1/lr-finder/{finder.Id}" })
        {
            var ended = await Get(path, ("Prefer", "wait=60"));
            var again = await Get(path, ("If-None-Match", ended.Headers.ETag!.Tag));
            Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
        }
    }

    [Theory]
    [InlineData("text/csv", "text/csv")]
    [InlineData("text/csv;q=0.5, application/json", "application/json")]
    [InlineData("application/json;q=0.2, text/csv;q=0.9", "text/csv")]
    [InlineData("text/*", "text/csv")]
    [InlineData("*/*", "application/json")]
    [InlineData("text/csv;q=0, */*", "application/json")]
    [InlineData("application/json, text/csv", "application/json")]
    public async Task HistoryFollowsTheQValuesOfAccept(string accept, string expected)
    {
        var id = await EndedFit();
        var response = await Get($"/v1/fits/{id}/history", ("Accept", accept));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, response.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("text/csv", "text/csv")]
    [InlineData("text/csv;q=0.1, application/x-ndjson;q=0.8", "application/x-ndjson")]
    [InlineData("application/x-ndjson;q=0.1, text/csv;q=0.8", "text/csv")]
    [InlineData("*/*", "application/x-ndjson")]
    public async Task BatchResultsFollowTheQValuesOfAccept(string accept, string expected)
    {
        var batch = (await (await _client.PostAsJsonAsync("/v1/batches", new
        {
            defaults = new { degree = 1, loss = "mse", learningRate = 0.01, steps = 10 },
            fits = new[] { new { x = new[] { 0.0, 1.0 }, y = new[] { 1.0, 2.0 } } },
        })).Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!;

        var response = await Get($"/v1/batches/{batch.Id}/results", ("Accept", accept));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task AnAcceptThatAllowsNoneOfTheFormsIs406ProblemDetails()
    {
        var id = await EndedFit();
        var response = await Get($"/v1/fits/{id}/history", ("Accept", "text/html, application/xml;q=0.9"));

        Assert.Equal(HttpStatusCode.NotAcceptable, response.StatusCode);
        Assert.Contains("text/csv", (await response.ReadProblem()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task WithoutConfiguredOriginsThereAreNoCorsHeaders()
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/v1/fits");
        request.Headers.Add("Origin", "https://app.example.org");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        var response = await _client.SendAsync(request);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task AConfiguredOriginMayPreflightAndReadTheHeadersClientsNeed()
    {
        await using var service = new FitServiceFactory(("Workers:Count", "0"), ("Cors:AllowedOrigins:0", "https://app.example.org"));
        var client = service.CreateClient();
        var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/fits");
        preflight.Headers.Add("Origin", "https://app.example.org");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization, content-type, idempotency-key");
        var allowed = await client.SendAsync(preflight);

        var stranger = new HttpRequestMessage(HttpMethod.Get, "/v1/fits");
        stranger.Headers.Add("Origin", "https://evil.example.com");
        var refused = await client.SendAsync(stranger);

        var simple = new HttpRequestMessage(HttpMethod.Get, "/v1/fits");
        simple.Headers.Add("Origin", "https://app.example.org");
        var read = await client.SendAsync(simple);

        Assert.True(allowed.IsSuccessStatusCode, allowed.StatusCode.ToString());
        Assert.Equal("https://app.example.org", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("idempotency-key", string.Join(",", allowed.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
        var exposed = string.Join(",", read.Headers.GetValues("Access-Control-Expose-Headers"));
        foreach (var header in new[] { "Location", "Retry-After", "ETag" }) Assert.Contains(header, exposed);
    }
}
