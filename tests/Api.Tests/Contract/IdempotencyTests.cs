using System.Net;
using System.Net.Http.Json;
using FitService.Api.Batches;
using FitService.Api.Fits;
using FitService.Api.LearningRates;
using FitService.Api.Tests.Infrastructure;
using FitService.Api.Tests.Security;
using FitService.Engine;

namespace FitService.Api.Tests.Contract;

/// <summary><c>Idempotency-Key</c> on every POST that creates something: batches and finder runs as on fits.</summary>
public sealed class IdempotencyTests(IdempotencyTests.Service factory) : IClassFixture<IdempotencyTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "1"));

    private readonly HttpClient _client = factory.CreateClient();

    private Task<HttpResponseMessage> Post(string path, object body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return _client.SendAsync(request);
    }

    private static object Batch(string label, int steps) => new
    {
        defaults = new { degree = 1, loss = "mse", learningRate = 0.01, steps },
        fits = Enumerable.Range(0, 5).Select(i => new { x = new[] { 0.0, 1.0, 2.0 }, y = new[] { 1.0, 2.0 + i, 3.0 + i }, label }).ToArray(),
        label,
    };

    private static object Finder(int steps) => new { x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", steps };

    [Fact]
    public async Task ARetriedBatchReturnsTheSameBatchAndStoresItsFitsOnce()
    {
        var key = Guid.NewGuid().ToString();
        var label = "idem-batch-" + key;

        var first = await Post("/v1/batches", Batch(label, 20), key);
        var again = await Post("/v1/batches", Batch(label, 20), key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        var a = (await first.Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!;
        var b = (await again.Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!;
        Assert.Equal(a.Id, b.Id);
        Assert.Equal(a.FitIds, b.FitIds);
        Assert.Equal(first.Headers.Location, again.Headers.Location);
        Assert.False(first.Headers.Contains(IdempotencyKey.ReplayedHeader));
        Assert.Equal("true", again.Headers.GetValues(IdempotencyKey.ReplayedHeader).Single());
        var stored = await _client.GetFromJsonAsync<FitList>($"/v1/fits?label={label}&limit=100", TestApi.Json);
        Assert.Equal(5, stored!.Items.Count);
    }

    [Fact]
    public async Task ABatchKeyReusedForADifferentBatchIs409AndStoresNothing()
    {
        var key = Guid.NewGuid().ToString();
        var label = "idem-batch-conflict-" + key;
        var first = await Post("/v1/batches", Batch(label, 20), key);
        var different = await Post("/v1/batches", Batch(label, 21), key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, different.StatusCode);
        var problem = await different.ReadProblem();
        Assert.Contains(key, problem.GetProperty("detail").GetString());
        Assert.Contains((await first.Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!.Id, problem.GetProperty("detail").GetString());
        var stored = await _client.GetFromJsonAsync<FitList>($"/v1/fits?label={label}&limit=100", TestApi.Json);
        Assert.Equal(5, stored!.Items.Count);
    }

    [Fact]
    public async Task ConcurrentRetriesOfABatchCreateOneBatch()
    {
        var key = Guid.NewGuid().ToString();
        var label = "idem-batch-race-" + key;
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Post("/v1/batches", Batch(label, 20), key)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var ids = await Task.WhenAll(responses.Select(async r => (await r.Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!.Id));
        Assert.Single(ids.Distinct());
        var stored = await _client.GetFromJsonAsync<FitList>($"/v1/fits?label={label}&limit=100", TestApi.Json);
        Assert.Equal(5, stored!.Items.Count);
    }

    [Fact]
    public async Task ARetriedFinderRunReturnsTheSameRunAndADifferentOneConflicts()
    {
        var key = Guid.NewGuid().ToString();

        var first = await Post("/v1/lr-finder", Finder(50), key);
        var again = await Post("/v1/lr-finder", Finder(50), key);
        var different = await Post("/v1/lr-finder", Finder(60), key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        var a = (await first.Content.ReadFromJsonAsync<LearningRateFinderResource>(TestApi.Json))!;
        var b = (await again.Content.ReadFromJsonAsync<LearningRateFinderResource>(TestApi.Json))!;
        Assert.Equal(a.Id, b.Id);
        Assert.Equal($"/v1/lr-finder/{a.Id}", again.Headers.Location!.OriginalString);
        Assert.Equal("true", again.Headers.GetValues(IdempotencyKey.ReplayedHeader).Single());
        Assert.Equal(HttpStatusCode.Conflict, different.StatusCode);
        Assert.Contains(key, (await different.ReadProblem()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AFitsKeyIsNeverReplayedAsAFinderRun()
    {
        var key = Guid.NewGuid().ToString();
        var fit = await _client.PostFit(TestApi.SmallFit(), ("Idempotency-Key", key));
        var finder = await Post("/v1/lr-finder", Finder(50), key);

        Assert.Equal(HttpStatusCode.Accepted, fit.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, finder.StatusCode);
    }

    [Fact]
    public async Task ConcurrentRetriesOfAFinderRunCreateOneRun()
    {
        var key = Guid.NewGuid().ToString();
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Post("/v1/lr-finder", Finder(40), key)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var ids = await Task.WhenAll(responses.Select(async r => (await r.Content.ReadFromJsonAsync<LearningRateFinderResource>(TestApi.Json))!.Id));
        Assert.Single(ids.Distinct());
        Assert.Equal(5, responses.Count(r => r.Headers.Contains(IdempotencyKey.ReplayedHeader)));
    }

    [Theory]
    [InlineData("/v1/batches")]
    [InlineData("/v1/lr-finder")]
    public async Task OneKeyUsedByTwoTenantsCreatesOneResourceForEach(string path)
    {
        await using var keyed = new FitServiceFactory(Keys.Configured(("Workers:Count", "0")));
        var key = Guid.NewGuid().ToString();
        async Task<(HttpStatusCode Status, string Id)> PostAs(string apiKey, object body)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
            var response = await keyed.CreateClient().WithKey(apiKey).SendAsync(request);
            using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return (response.StatusCode, json.RootElement.TryGetProperty("id", out var id) ? id.GetString()! : "");
        }
        object Body(int steps) => path.Contains("batches", StringComparison.Ordinal) ? Batch("idem-tenants-" + key, steps) : Finder(steps);

        var acme = await PostAs(Keys.Acme, Body(30));
        // The other tenant's first use of the key, with another body: its own resource, neither a replay nor a 409.
        var globex = await PostAs(Keys.Globex, Body(40));
        var acmeAgain = await PostAs(Keys.Acme, Body(30));

        Assert.Equal(HttpStatusCode.Accepted, acme.Status);
        Assert.Equal(HttpStatusCode.Accepted, globex.Status);
        Assert.NotEqual(acme.Id, globex.Id);
        Assert.Equal((HttpStatusCode.Accepted, acme.Id), acmeAgain);
    }

    [Theory]
    [InlineData("/v1/batches")]
    [InlineData("/v1/lr-finder")]
    public async Task AnOverlongKeyIsAValidationError(string path)
    {
        var response = await Post(path, path.Contains("batches") ? Batch("overlong", 10) : Finder(50), new string('k', 201));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadProblem()).GetProperty("errors").TryGetProperty("Idempotency-Key", out _));
    }
}
