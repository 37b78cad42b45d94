using System.Net;
using FitService.Api.Fits;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.Fits;

/// <summary>An ended fit polled again is answered from the resource built last time, exactly as it was, while the store decides what exists.</summary>
public sealed class EndedFitResourcesTests(EndedFitResourcesTests.Service factory) : IClassFixture<EndedFitResourcesTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "1"));

    private readonly HttpClient _client = factory.CreateClient();

    private async Task<FitRecord> EndedFitAsync()
    {
        var fit = await (await _client.PostFit(TestApi.SmallFit(steps: 30), ("Prefer", "wait=60"))).ReadFit();
        await _client.WaitForEnd(fit.Id, 60);
        var store = factory.Services.GetRequiredService<IFitStore>();
        var stored = await store.GetForWorkerAsync(fit.Id, CancellationToken.None);
        return (await store.GetAsync(stored!.Tenant, fit.Id, 1_000, CancellationToken.None))!;
    }

    [Fact]
    public async Task AnEndedFitPolledAgainGetsTheSameBytesTagAndContentType()
    {
        var id = (await EndedFitAsync()).Id;

        var first = await _client.GetAsync($"/v1/fits/{id}");
        var second = await _client.GetAsync($"/v1/fits/{id}");

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Headers.ETag, second.Headers.ETag);
        Assert.Equal("application/json; charset=utf-8", second.Content.Headers.ContentType!.ToString());
        Assert.Equal((await first.ReadFit()).History, (await second.ReadFit()).History);
    }

    [Fact]
    public async Task ADeletedFitIsGoneAtOnceThoughItsResourceWasKept()
    {
        var id = (await EndedFitAsync()).Id;
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v1/fits/{id}")).StatusCode);

        Assert.True((await _client.DeleteAsync($"/v1/fits/{id}")).IsSuccessStatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v1/fits/{id}")).StatusCode);
    }

    [Fact]
    public async Task KeptResourcesStayWithinTheirCountAndBytesHoweverManyFitsArePolled()
    {
        var fit = await EndedFitAsync();
        var resources = new EndedFitResources();

        // Three times the capacity of distinct ended fits, as a long run of reads over a growing store polls them.
        for (var i = 0; i < EndedFitResources.Capacity * 3 + 7; i++)
        {
            resources.Of(fit with { Id = $"{fit.Id}-{i}" }, 1_000);
            Assert.InRange(resources.Count, 1, EndedFitResources.Capacity);
            Assert.InRange(resources.Bytes, 1, EndedFitResources.ByteBudget);
        }
        // The newest is kept: a fit polled again right after is served from it.
        var newest = fit with { Id = $"{fit.Id}-{EndedFitResources.Capacity * 3 + 6}" };
        Assert.Same(resources.Of(newest, 1_000), resources.Of(newest with { }, 1_000));
    }

    [Fact]
    public async Task AnyChangeToTheStoredFitBuildsItsResourceAgain()
    {
        var fit = await EndedFitAsync();
        var resources = new EndedFitResources();
        var kept = resources.Of(fit, 1_000);

        Assert.Same(kept, resources.Of(fit with { }, 1_000));
        var later = fit with { OutcomeJson = """{"optimumPending":false}""" };
        foreach (var changed in new[] { later, fit with { Label = "renamed" }, fit with { Params = [.. fit.Params!.Select(p => p + 1)] }, fit with { HistoryTotal = 7 } })
        {
            var rebuilt = resources.Of(changed, 1_000);
            Assert.NotSame(kept, rebuilt);
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(FitMapper.ToResource(changed, 1_000)), System.Text.Json.JsonSerializer.Serialize(rebuilt));
        }
        Assert.NotSame(resources.Of(fit, 1_000), resources.Of(fit, 10));
    }

    [Fact]
    public async Task AFitStillRunningIsBuiltAfreshEveryTimeAndItsJsonIsNotKept()
    {
        var fit = await EndedFitAsync() with { Status = FitStatus.Running, FinishedAt = null };
        var resources = new EndedFitResources();

        var first = resources.Of(fit, 1_000);
        resources.Add(first, [1, 2, 3], "\"tag\"");

        Assert.NotSame(first, resources.Of(fit, 1_000));
        Assert.False(resources.TryGet(first, out _, out _));
    }

    [Fact]
    public async Task AResourceTooLargeToKeepIsBuiltAfreshAndOnlyASmallOneIsKept()
    {
        var fit = await EndedFitAsync();
        var large = fit with { Id = "large", Label = new string('a', 200_000) };
        Assert.True(EndedFitResources.SizeOf(large) > EndedFitResources.ByteBudget / 64);
        var resources = new EndedFitResources();

        var first = resources.Of(large, 1_000);
        resources.Add(first, [1, 2, 3], "\"tag\"");

        Assert.NotSame(first, resources.Of(large, 1_000));
        Assert.False(resources.TryGet(first, out _, out _));
        Assert.Same(resources.Of(fit, 1_000), resources.Of(fit, 1_000));
    }
}
