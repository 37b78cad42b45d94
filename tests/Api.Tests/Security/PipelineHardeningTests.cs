using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FitService.Api.Batches;
using FitService.Api.Tests.Infrastructure;
using FitService.Api.Webhooks;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.Security;

/// <summary>
/// What the pipeline does for every request whatever its route: loopback Host names only in the local mode, HEAD
/// answered as GET, problem details on every 4xx/5xx, same-site POSTs only on the dashboard.
/// </summary>
public sealed class PipelineHardeningTests(PipelineHardeningTests.Service factory) : IClassFixture<PipelineHardeningTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "1"));

    private readonly HttpClient _client = factory.CreateClient();

    private static async Task<JsonElement> AssertProblem(HttpResponseMessage response, int status)
    {
        Assert.Equal(status, (int)response.StatusCode);
        var problem = await response.ReadProblem();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        foreach (var member in new[] { "type", "title", "detail" })
            Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty(member).GetString()), $"problem details without {member}");
        return problem;
    }

    private async Task<int> FitCount() => (await _client.GetFromJsonAsync<JsonElement>("/v1/fits")).GetProperty("items").GetArrayLength();

    [Theory]
    [InlineData("rebound.example")]
    [InlineData("rebound.example:5080")]
    [InlineData("localhost.rebound.example")]
    [InlineData("127.0.0.1.nip.io")]
    [InlineData("10.0.0.5")]
    [InlineData("0.0.0.0")]
    [InlineData("[::2]")]
    public async Task TheLocalModeAnswersOnlyLoopbackHostNames421AndStoresNothing(string host)
    {
        var before = await FitCount();
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fits") { Content = JsonContent.Create(TestApi.SmallFit()) };
        request.Headers.Host = host;
        var problem = await AssertProblem(await _client.SendAsync(request), 421);
        Assert.Contains("localhost", problem.GetProperty("detail").GetString());

        var get = new HttpRequestMessage(HttpMethod.Get, "/health/ready");
        get.Headers.Host = host;
        Assert.Equal(421, (int)(await _client.SendAsync(get)).StatusCode);
        Assert.Equal(before, await FitCount());
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("LOCALHOST:8080")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:1")]
    [InlineData("127.8.9.10:5080")]
    [InlineData("[::1]")]
    [InlineData("[::1]:65535")]
    [InlineData("[::ffff:127.0.0.1]")]
    public async Task TheLocalModeServesLoopbackNamesAndAddressesOnAnyPort(string host)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/fits");
        request.Headers.Host = host;
        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task HeadOnEveryGetRouteAnswersLikeGetWithoutABody()
    {
        var fit = await (await _client.PostFit(TestApi.SmallFit(steps: 30))).ReadFit();
        await _client.WaitForEnd(fit.Id);
        var batchResponse = await _client.PostAsJsonAsync("/v1/batches", new { defaults = TestApi.SmallFit(steps: 10), fits = new[] { new { label = "a" } } });
        var batch = (await batchResponse.Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!;
        var finder = await _client.PostAsJsonAsync("/v1/lr-finder", new { x = new[] { 0.0, 1, 2, 3 }, y = new[] { 1.0, 3, 5, 7 }, degree = 1, loss = "mse" });
        var finderId = (await finder.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

        string[] paths =
        [
            "/v1/fits", $"/v1/fits/{fit.Id}", $"/v1/fits/{fit.Id}/history", $"/v1/fits/{fit.Id}/plot.svg", $"/v1/fits/{fit.Id}/loss.svg",
            $"/v1/fits/{fit.Id}/events", $"/v1/fits/{fit.Id}/deliveries", $"/v1/batches/{batch.Id}", $"/v1/batches/{batch.Id}/results",
            $"/v1/batches/{batch.Id}/deliveries", $"/v1/lr-finder/{finderId}", "/health/live", "/health/ready", "/swagger/v1/swagger.json",
            "/v1/fits/no-such-fit", "/nothing-here",
        ];
        foreach (var path in paths)
        {
            var get = await _client.GetAsync(path);
            var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
            Assert.True(get.StatusCode == head.StatusCode, $"HEAD {path}: {head.StatusCode}, GET: {get.StatusCode}");
            Assert.Equal(get.Content.Headers.ContentType?.MediaType, head.Content.Headers.ContentType?.MediaType);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task EveryErrorThePipelineWritesIsProblemDetails()
    {
        await AssertProblem(await _client.PutAsync("/v1/fits", null), 405);
        await AssertProblem(await _client.DeleteAsync("/v1/fits"), 405);
        await AssertProblem(await _client.PostAsync("/v1/fits", new StringContent("<fit/>", System.Text.Encoding.UTF8, "application/xml")), 415);
        await AssertProblem(await _client.PostAsync("/v1/batches", new StringContent("x", System.Text.Encoding.UTF8, "text/plain")), 415);
        await AssertProblem(await _client.GetAsync("/v1/no-such-resource"), 404);
        await AssertProblem(await _client.GetAsync("/no-such-page"), 404);
        await AssertProblem(await _client.GetAsync("/v1/fits?label=" + new string('a', 9 * 1024)), 414);
        var manyHeaders = new HttpRequestMessage(HttpMethod.Get, "/v1/fits");
        for (var i = 0; i < 70; i++) manyHeaders.Headers.TryAddWithoutValidation($"X-H{i}", "v");
        await AssertProblem(await _client.SendAsync(manyHeaders), 431);
        var bigHeader = new HttpRequestMessage(HttpMethod.Get, "/v1/fits");
        bigHeader.Headers.TryAddWithoutValidation("X-Big", new string('a', 40 * 1024));
        await AssertProblem(await _client.SendAsync(bigHeader), 431);
    }

    [Fact]
    public async Task TheRateLimitersRefusalIsProblemDetailsWithATypeAndRetryAfter()
    {
        using var limited = new FitServiceFactory(("Workers:Count", "0"), ("Limits:RequestsPerSecond", "1"), ("Limits:RequestBurst", "1"));
        var client = limited.CreateClient();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 20 && refused is null; i++)
        {
            var response = await client.GetAsync("/v1/fits");
            if (response.StatusCode == HttpStatusCode.TooManyRequests) refused = response;
        }
        Assert.NotNull(refused);
        var problem = await AssertProblem(refused!, 429);
        Assert.Equal("https://tools.ietf.org/html/rfc6585#section-4", problem.GetProperty("type").GetString());
        Assert.NotNull(refused!.Headers.RetryAfter);
    }

    [Theory]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    [InlineData("Origin", "http://rebound.example")]
    [InlineData("Origin", "http://localhost:9999")]
    [InlineData("Origin", "null")]
    public async Task TheDashboardRefusesCrossSitePosts(string header, string value)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/hangfire/jobs/enqueued/delete") { Content = new FormUrlEncodedContent([new("jobs[]", "1")]) };
        request.Headers.TryAddWithoutValidation(header, value);
        var problem = await AssertProblem(await _client.SendAsync(request), 403);
        Assert.Equal("Cross-site request refused", problem.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("Sec-Fetch-Site", "same-origin")]
    [InlineData("Origin", "http://localhost")]
    [InlineData("X-No-Browser", "curl")]
    public async Task TheDashboardLetsSameOriginAndNonBrowserPostsThrough(string header, string value)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/hangfire/jobs/enqueued/delete") { Content = new FormUrlEncodedContent([new("jobs[]", "1")]) };
        request.Headers.TryAddWithoutValidation(header, value);
        var response = await _client.SendAsync(request);
        // Hangfire's own answer (the test server has no loopback remote address, so its local-only filter refuses): not ours.
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("Cross-site request refused", body);
    }

    /// <summary>A resolver that counts lookups per host and the most in flight at once, answering after <paramref name="answer"/>.</summary>
    private sealed class CountingResolver(Func<CancellationToken, Task<IPAddress[]>> answer)
    {
        public System.Collections.Concurrent.ConcurrentDictionary<string, int> Calls { get; } = new();
        private int _inFlight;
        public int MaxInFlight;

        public async Task<IPAddress[]> Resolve(string host, CancellationToken ct)
        {
            Calls.AddOrUpdate(host, 1, (_, n) => n + 1);
            InterlockedMax(ref MaxInFlight, Interlocked.Increment(ref _inFlight));
            try { return await answer(ct); }
            finally { Interlocked.Decrement(ref _inFlight); }
        }
    }

    private static async Task<(HttpResponseMessage Response, HttpClient Client, FitServiceFactory Service)> SubmitBatchNamingHosts(CountingResolver resolver, int hosts)
    {
        var service = new FitServiceFactory(("Workers:Count", "0"), ("Webhooks:SigningSecret", FitService.Api.Tests.Webhooks.LoopbackReceiver.Secret));
        var client = service.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton(new HostResolver(resolver.Resolve)))).CreateClient();
        // Each host named by three fits.
        var fits = Enumerable.Range(0, 3 * hosts).Select(i => new { webhook = new { url = $"https://host-{i % hosts}.example/hook" }, label = $"f{i}" }).ToArray();
        var response = await client.PostAsJsonAsync("/v1/batches", new { defaults = TestApi.SmallFit(steps: 10), fits });
        return (response, client, service);
    }

    [Fact]
    public async Task ABatchResolvesEachDistinctWebhookHostOnceAndSeveralAtOnce()
    {
        var resolver = new CountingResolver(async ct =>
        {
            await Task.Delay(20, ct);
            return [IPAddress.Parse("93.184.215.14")];
        });
        var (response, _, service) = await SubmitBatchNamingHosts(resolver, hosts: 40);
        using (service)
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal(40, resolver.Calls.Count);
            Assert.All(resolver.Calls.Values, n => Assert.Equal(1, n));
            Assert.InRange(resolver.MaxInFlight, 2, FitService.Api.Webhooks.WebhookUrlPolicy.MaxConcurrentLookups);
        }
    }

    [Fact]
    public async Task HostsThatNeverAnswerCostABatchOneResolveTimeoutAndAreRefused()
    {
        var resolver = new CountingResolver(async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct); // a DNS server that never answers
            return [];
        });
        // 40 lookups one after another would take 40 × the 3 s resolve timeout.
        var (response, client, service) = await SubmitBatchNamingHosts(resolver, hosts: 40).WaitAsync(TimeSpan.FromSeconds(60));
        using (service)
        {
            var problem = await AssertProblem(response, 400);
            Assert.Contains("does not resolve", problem.GetRawText());
            Assert.All(resolver.Calls.Values, n => Assert.Equal(1, n));
            Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>("/v1/fits")).GetProperty("items").GetArrayLength());
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = target; value > seen; seen = target)
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
        }
    }
}
