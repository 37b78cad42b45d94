using System.Net;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FitService.Api.Tests.Security;

/// <summary>No tenant can take more than its share: work per fit, active fits at once and requests per second are bounded.</summary>
public sealed class ResourceLimitTests
{
    [Fact]
    public async Task AFitAboveTheWorkBoundIs422NamingTheBound()
    {
        await using var factory = new FitServiceFactory(("Workers:Count", "0"), ("Limits:MaxWork", "1000"));
        var client = factory.CreateClient();
        // 5 points × (100 steps + 2 × 3 evaluations) × 3 params = 1590, and the MSE optimum beside it 3 × 5 × 3² = 135
        var response = await client.PostFit(TestApi.SmallFit(steps: 100));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = await response.ReadProblem();
        Assert.Contains("Limits:MaxWork", problem.GetProperty("detail").GetString());
        Assert.Equal(1000, problem.GetProperty("maxWork").GetInt64());
        Assert.Equal(1725, problem.GetProperty("work").GetDouble());
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostFit(TestApi.SmallFit(steps: 50))).StatusCode);
    }

    [Fact]
    public async Task AnExactFitCountsItsSolveAgainstTheWorkBound()
    {
        await using var factory = new FitServiceFactory(("Workers:Count", "0"), ("Limits:MaxWork", "10000"));
        var client = factory.CreateClient();
        object Exact(string loss) => new { x = new[] { -2.0, -1, 0, 1, 2 }, y = new[] { 9.0, 2, 1, 6, 17 }, degree = 2, loss, solver = "exact" };

        // MAE: 30 IRLS passes of 5 × 3² and up to 1060 simplex steps of 2 × 5 × 3 = 33,150 > 10,000; MSE: 3 × 5 × 3² = 135.
        var refused = await client.PostFit(Exact("mae"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        var problem = await refused.ReadProblem();
        Assert.Equal(33_150, problem.GetProperty("work").GetDouble());
        Assert.Contains("exact mae optimum", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostFit(Exact("mse"))).StatusCode);
    }

    [Fact]
    public async Task ATenantAtItsActiveFitQuotaGets429WithRetryAfterAndOthersDoNot()
    {
        await using var factory = new FitServiceFactory(Keys.Configured(("Workers:Count", "0"), ("Limits:MaxActiveFitsPerTenant", "2")));
        var acme = factory.CreateClient().WithKey(Keys.Acme);
        Assert.Equal(HttpStatusCode.Accepted, (await acme.PostFit(TestApi.SmallFit())).StatusCode);
        var second = await (await acme.PostFit(TestApi.SmallFit())).ReadFit();

        var refused = await acme.PostFit(TestApi.SmallFit());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        var problem = await refused.ReadProblem();
        Assert.Contains("Limits:MaxActiveFitsPerTenant", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Accepted, (await factory.CreateClient().WithKey(Keys.Globex).PostFit(TestApi.SmallFit())).StatusCode);

        // An ended fit no longer counts.
        Assert.Equal(HttpStatusCode.Accepted, (await acme.PostAsync($"/v1/fits/{second.Id}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await acme.PostFit(TestApi.SmallFit())).StatusCode);
    }

    [Fact]
    public async Task EveryFitOfTheProcessCountsAgainstTheQuotaUpToItsLastPlace()
    {
        // A quota of 4: the count read for the first fits is reused below half the quota, and every fit this process
        // lets through is added to it, so the fourth is accepted and the fifth refused without any clock moving.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var factory = new FitServiceFactory(Keys.Configured(("Workers:Count", "0"), ("Limits:MaxActiveFitsPerTenant", "4")));
        var acme = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(clock))).CreateClient().WithKey(Keys.Acme);
        for (var i = 0; i < 4; i++) Assert.Equal(HttpStatusCode.Accepted, (await acme.PostFit(TestApi.SmallFit())).StatusCode);
        var refused = await acme.PostFit(TestApi.SmallFit());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(4, (await refused.ReadProblem()).GetProperty("active").GetInt32());
    }

    [Fact]
    public async Task FitsStoredByAnotherProcessCountAgainstTheQuotaOnceTheCountIsReadAgain()
    {
        // Another API process on the same store takes the tenant to its quota of 6 behind this process's back. This
        // process, far below half the quota when it last counted, may reuse that count for Limits:ActiveCountReuseMilliseconds
        // (100 ms by default); past it, the count is read again and the next fit is refused.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var factory = new FitServiceFactory(Keys.Configured(("Workers:Count", "0"), ("Limits:MaxActiveFitsPerTenant", "6")));
        var service = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(clock)));
        var acme = service.CreateClient().WithKey(Keys.Acme);
        Assert.Equal(HttpStatusCode.Accepted, (await acme.PostFit(TestApi.SmallFit())).StatusCode);
        await StoreAsAnotherProcess(service.Services.GetRequiredService<IFitStore>(), fits: 5, clock.GetUtcNow());

        clock.Advance(TimeSpan.FromMilliseconds(100));
        var refused = await acme.PostFit(TestApi.SmallFit());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(6, (await refused.ReadProblem()).GetProperty("active").GetInt32());
    }

    [Fact]
    public async Task WithoutCountReuseFitsStoredByAnotherProcessCountAtOnce()
    {
        await using var factory = new FitServiceFactory(Keys.Configured(("Workers:Count", "0"), ("Limits:MaxActiveFitsPerTenant", "6"),
            ("Limits:ActiveCountReuseMilliseconds", "0")));
        var acme = factory.CreateClient().WithKey(Keys.Acme);
        Assert.Equal(HttpStatusCode.Accepted, (await acme.PostFit(TestApi.SmallFit())).StatusCode);
        await StoreAsAnotherProcess(factory.Services.GetRequiredService<IFitStore>(), fits: 5, DateTimeOffset.UtcNow);

        var refused = await acme.PostFit(TestApi.SmallFit());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(6, (await refused.ReadProblem()).GetProperty("active").GetInt32());
    }

    private static async Task StoreAsAnotherProcess(IFitStore store, int fits, DateTimeOffset now)
    {
        for (var i = 0; i < fits; i++)
        {
            var other = new NewFit(Guid.NewGuid().ToString("N"), "acme", now, "{\"degree\":1}", [0.0, 1, 2], [1.0, 2, 3],
                Steps: 10, HistoryEvery: 1, Label: null, IdempotencyKey: null, RequestHash: $"other-{i}");
            Assert.Equal(CreateOutcome.Created, (await store.CreateAsync(other, CancellationToken.None)).Outcome);
        }
    }

    [Fact]
    public async Task ATenantAboveItsRateIs429ProblemWithRetryAfterAndOthersAreNotSlowed()
    {
        await using var factory = new FitServiceFactory(Keys.Configured(("Workers:Count", "0"), ("Limits:RequestsPerSecond", "1"), ("Limits:RequestBurst", "3")));
        var acme = factory.CreateClient().WithKey(Keys.Acme);
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 6; i++)
        {
            var response = await acme.GetAsync("/v1/fits");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) limited ??= response;
        }
        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.NotNull(limited);
        Assert.NotNull(limited!.Headers.RetryAfter);
        var problem = await limited.ReadProblem();
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await factory.CreateClient().WithKey(Keys.Globex).GetAsync("/v1/fits")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await acme.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task WithKeysATenantIsRateLimitedByDefault()
    {
        // Only the bucket's size is configured: the rate itself is the keyed mode's default (1,000 /s), so a burst of 1
        // refuses the second of quick requests within a second.
        await using var factory = new FitServiceFactory(Keys.Configured(("Workers:Count", "0"), ("Limits:RequestBurst", "1")));
        var acme = factory.CreateClient().WithKey(Keys.Acme);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++) statuses.Add((await acme.GetAsync("/v1/fits")).StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
    }

    [Fact]
    public async Task InTheLocalModeTheRateLimitIsOffUnlessConfigured()
    {
        // The local mode's one anonymous tenant on loopback: a default limit would only hold a benchmark or a script below
        // what the service can do. The same burst of 1 as above refuses nothing.
        await using var unset = new FitServiceFactory(("Workers:Count", "0"), ("Limits:RequestBurst", "1"));
        var client = unset.CreateClient();
        for (var i = 0; i < 20; i++) Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/fits")).StatusCode);

        // Configured, it holds in the local mode too.
        await using var configured = new FitServiceFactory(("Workers:Count", "0"), ("Limits:RequestsPerSecond", "5"), ("Limits:RequestBurst", "1"));
        var limited = configured.CreateClient();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++) statuses.Add((await limited.GetAsync("/v1/fits")).StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
    }

    [Fact]
    public async Task PreferWaitIsCappedByConfiguration()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var factory = new FitServiceFactory(("Workers:Count", "0"), ("Limits:MaxWaitSeconds", "1"));
        using var client = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(clock))).CreateClient();
        var fit = await (await client.PostFit(TestApi.SmallFit())).ReadFit();
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{fit.Id}");
        request.Headers.TryAddWithoutValidation("Prefer", "wait=3600");

        // The wait runs on the service's clock: moved on a quarter second at a time until the answer comes. It cannot come
        // before the capped second has passed, and it comes long before the 3,600 s asked for.
        var started = clock.GetUtcNow();
        var answer = client.SendAsync(request);
        for (var steps = 0; !answer.IsCompleted && steps < 2_400; steps++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(250));
            await Task.WhenAny(answer, Task.Delay(50));
        }
        Assert.True(answer.IsCompleted, "no answer after 600 s on the service's clock");
        Assert.Equal(HttpStatusCode.OK, (await answer).StatusCode);
        Assert.InRange((clock.GetUtcNow() - started).TotalSeconds, 1, 600);
    }
}
