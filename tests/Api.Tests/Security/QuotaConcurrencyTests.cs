using System.Net;
using System.Net.Http.Json;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.Security;

/// <summary>
/// One API process never lets a tenant pass its quota of active fits, however many of its submissions arrive at once,
/// whether it reuses its count (<c>Limits:ActiveCountReuseMilliseconds</c>) or counts every time; and it refuses only
/// what would pass the quota.
/// </summary>
public sealed class QuotaConcurrencyTests
{
    [Theory]
    [InlineData("100")]
    [InlineData("0")]
    public async Task ConcurrentFitsOfTwoTenantsAreAcceptedExactlyUpToEachQuota(string reuseMilliseconds)
    {
        await using var factory = new FitServiceFactory(Keys.Configured(("Workers:Count", "0"), ("Limits:MaxActiveFitsPerTenant", "10"),
            ("Limits:ActiveCountReuseMilliseconds", reuseMilliseconds)));
        var acme = factory.CreateClient().WithKey(Keys.Acme);
        var globex = factory.CreateClient().WithKey(Keys.Globex);

        var posts = new List<(string Tenant, Task<HttpResponseMessage> Post)>();
        for (var i = 0; i < 40; i++)
        {
            posts.Add(("acme", acme.PostFit(TestApi.SmallFit())));
            posts.Add(("globex", globex.PostFit(TestApi.SmallFit())));
        }
        await Task.WhenAll(posts.Select(p => p.Post));

        var store = factory.Services.GetRequiredService<IFitStore>();
        foreach (var tenant in new[] { "acme", "globex" })
        {
            var answers = posts.Where(p => p.Tenant == tenant).Select(p => p.Post.Result.StatusCode).ToList();
            Assert.All(answers, status => Assert.True(status is HttpStatusCode.Accepted or HttpStatusCode.TooManyRequests, $"{tenant}: {status}"));
            Assert.Equal(10, answers.Count(s => s == HttpStatusCode.Accepted));
            Assert.Equal(10, await store.CountActiveAsync(tenant, CancellationToken.None));
        }
    }

    [Fact]
    public async Task ConcurrentBigBatchesAreAcceptedOnlyAsFarAsTheQuotaHolds()
    {
        // Batches above SqliteFitStore.BatchSliceFits are stored a slice at a time, the longest gap between the check and
        // the store; a quota of 3,000 holds two batches of 1,100 and not a third.
        await using var factory = new FitServiceFactory(Keys.Configured(("Workers:Count", "0"), ("Limits:MaxActiveFitsPerTenant", "3000")));
        var acme = factory.CreateClient().WithKey(Keys.Acme);
        var batch = new
        {
            defaults = new { degree = 1, steps = 10, learningRate = 0.01 },
            fits = Enumerable.Range(0, SqliteFitStore.BatchSliceFits + 76).Select(i => new { x = new[] { 0.0, 1, 2 }, y = new[] { 1.0, 2, i } }).ToList(),
        };

        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => acme.PostAsJsonAsync("/v1/batches", batch)));

        Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.TooManyRequests, a.StatusCode.ToString()));
        Assert.Equal(2, answers.Count(a => a.StatusCode == HttpStatusCode.Accepted));
        var store = factory.Services.GetRequiredService<IFitStore>();
        Assert.Equal(2 * batch.fits.Count, await store.CountActiveAsync("acme", CancellationToken.None));
    }
}
