using System.Net;
using System.Text.Json;
using FitService.Api.Batches;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.Batches;

public sealed class BatchTests(BatchTests.Service factory) : IClassFixture<BatchTests.Service>
{
    public sealed class Service() : FitServiceFactory(("Workers:Count", "2"), ("Limits:MaxBatchFits", "500"));

    private readonly HttpClient _client = factory.CreateClient();

    private static object Item(int i) => new
    {
        x = new[] { 0.0, 1.0, 2.0, 3.0 },
        y = new[] { 1.0, 3.0 + i, 5.0 + 2 * i, 7.0 + 3 * i },
        label = $"set-{i}",
    };

    private static readonly object Defaults = new { degree = 1, loss = "mse", learningRate = 0.02, steps = 500 };

    private async Task<BatchResource> Submit(object body)
    {
        var response = await _client.PostAsJsonAsync("/v1/batches", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var batch = (await response.Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!;
        Assert.Equal($"/v1/batches/{batch.Id}", response.Headers.Location!.OriginalString);
        return batch;
    }

    private async Task<BatchResource> WaitFor(string id)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/batches/{id}");
        request.Headers.TryAddWithoutValidation("Prefer", "wait=60");
        var response = await _client.SendAsync(request);
        return (await response.Content.ReadFromJsonAsync<BatchResource>(TestApi.Json))!;
    }

    /// <summary>The fit once its optimum is no longer pending (it is stored just after the fit's end).</summary>
    private async Task<FitResource> WithOptimum(string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var fit = await _client.WaitForEnd(id);
            if (fit.OptimumStatus != "pending" || DateTime.UtcNow > deadline) return fit;
            await Task.Delay(20);
        }
    }

    [Theory]
    [InlineData(40)]
    // A batch this big makes its fits' stored forms on every core (FitSubmitter): still one per item, in item order.
    [InlineData(300)]
    public async Task ABatchRunsEveryFitAndReportsResultsInItemOrder(int count)
    {
        var batch = await Submit(new { defaults = Defaults, fits = Enumerable.Range(0, count).Select(Item).ToArray(), label = "many" });
        Assert.Equal(count, batch.Total);
        Assert.Equal(count, batch.FitIds.Distinct().Count());

        var done = await WaitFor(batch.Id);
        Assert.Equal("completed", done.Status);
        Assert.Equal(count, done.Counts.Succeeded);
        Assert.Equal(1.0, done.Progress);

        var lines = (await _client.GetStringAsync($"/v1/batches/{batch.Id}/results")).TrimEnd('\n').Split('\n');
        Assert.Equal(count, lines.Length);
        var results = lines.Select(l => JsonSerializer.Deserialize<BatchResult>(l, TestApi.Json)!).ToList();
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"set-{i}"), results.Select(r => r.Label));
        Assert.Equal(batch.FitIds, results.Select(r => r.Id));
        foreach (var i in new[] { 7, count - 1 })
        {
            var expected = Fitter.Run(new FitProblem([0, 1, 2, 3], [1, 3 + i, 5 + 2 * i, 7 + 3 * i], 1, new LossSpec(LossKind.Mse), 0.02, 500));
            Assert.Equal(expected.Params, results[i].Params!);
            Assert.Equal(expected.Loss, results[i].Loss);
        }
    }

    [Fact]
    public async Task ResultsAsCsvHaveOneRowPerFitAndAColumnPerParam()
    {
        var batch = await Submit(new { defaults = Defaults, fits = new[] { Item(0), Item(1) } });
        await WaitFor(batch.Id);

        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/batches/{batch.Id}/results");
        request.Headers.Accept.ParseAdd("text/csv");
        var csv = (await (await _client.SendAsync(request)).Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');
        Assert.Equal("label,status,stopReason,loss,p0,p1", csv[0]);
        Assert.Equal(3, csv.Length);
        Assert.StartsWith("set-1,succeeded,steps,", csv[2]);
        Assert.Equal(6, csv[2].Split(',').Length);
    }

    [Fact]
    public async Task ItemsOverrideTheDefaults()
    {
        var item = new { x = new[] { 0.0, 1.0, 2.0 }, y = new[] { 0.0, 1.0, 4.0 }, degree = 2, steps = 7 };
        var batch = await Submit(new { defaults = Defaults, fits = new object[] { item } });
        await WaitFor(batch.Id);

        var fit = await _client.GetFromJsonAsync<FitResource>($"/v1/fits/{batch.FitIds[0]}", TestApi.Json);
        Assert.Equal(2, fit!.Request.Degree);
        Assert.Equal(7, fit.Steps);
        Assert.Equal("mse", fit.Request.Loss);
        Assert.Equal(0.02, fit.Request.LearningRate!.Value.Rate);
    }

    [Fact]
    public async Task OneBadItemRejectsTheWholeBatchNamingItsIndex()
    {
        var label = "rejected-" + Guid.NewGuid().ToString("N");
        var bad = new { x = new[] { 1.0, 2.0 }, y = new[] { 1.0 }, learningRate = -1.0, label };
        var response = await _client.PostAsJsonAsync("/v1/batches", new { defaults = Defaults, fits = new object[] { Item(0), Item(1), bad } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.Equal("length 1 differs from x (2)", errors.GetProperty("fits[2].y")[0].GetString());
        Assert.True(errors.TryGetProperty("fits[2].learningRate", out _));
        Assert.False(errors.TryGetProperty("fits[0].y", out _));
        var list = await _client.GetFromJsonAsync<FitList>($"/v1/fits?label=set-0&limit=500", TestApi.Json);
        Assert.DoesNotContain(list!.Items, f => f.CreatedAt > DateTimeOffset.UtcNow.AddSeconds(-2) && f.Label == label);
    }

    [Theory]
    [InlineData("""{"fits":[]}""", "fits")]
    [InlineData("""{"defaults":{"degree":1}}""", "fits")]
    [InlineData("""{"fits":[{"x":[1]}],"colour":1}""", "colour")]
    [InlineData("""{"fits":[{"x":[1],"y":[1],"degree":0,"loss":"mse","learningRate":1,"steps":1,"speed":3}]}""", "fits[0].speed")]
    public async Task MalformedBatchesAre400(string body, string field)
    {
        var response = await _client.PostAsync("/v1/batches", TestApi.JsonBody(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out _), errors.ToString());
    }

    [Fact]
    public async Task MoreFitsThanMaxBatchFitsIsRejected()
    {
        var response = await _client.PostAsJsonAsync("/v1/batches", new { defaults = Defaults, fits = Enumerable.Range(0, 501).Select(Item).ToArray() });

        var errors = (await response.ReadProblem()).GetProperty("errors");
        Assert.Contains("at most 500", errors.GetProperty("fits")[0].GetString());
    }

    [Fact]
    public async Task FitsRunInAChunkGiveTheResultsOfTheSameFitsSubmittedAlone()
    {
        // MAE on a few points: many fits share a chunk, and each one's exact optimum (pending after a lone fit's end) is
        // computed in the chunk and stored with its end.
        var defaults = new { degree = 2, loss = "mae", learningRate = 0.01, steps = 100 };
        object Fit(int i) => new
        {
            x = new[] { 0.0, 0.5, 1.0, 1.5, 2.0, 2.5 },
            y = new[] { 1.0, 0.2 * i, 3.0, 2.0 + i, 5.0, 4.5 - 0.1 * i },
            label = $"chunk-{i}",
        };
        var handedOff = factory.Services.GetRequiredService<FitService.Api.Jobs.ChunkEnds>().HandedOff;
        var batch = await Submit(new { defaults, fits = Enumerable.Range(0, 30).Select(Fit).ToArray() });
        Assert.Equal("completed", (await WaitFor(batch.Id)).Status);
        // The chunk's end was stored off its worker (ChunkEnds), and is what the results below were read from.
        Assert.True(factory.Services.GetRequiredService<FitService.Api.Jobs.ChunkEnds>().HandedOff > handedOff);

        foreach (var i in new[] { 0, 13, 29 })
        {
            var alone = new HttpRequestMessage(HttpMethod.Post, "/v1/fits")
            {
                Content = JsonContent.Create(new
                {
                    defaults.degree, defaults.loss, defaults.learningRate, defaults.steps, x = new[] { 0.0, 0.5, 1.0, 1.5, 2.0, 2.5 },
                    y = new[] { 1.0, 0.2 * i, 3.0, 2.0 + i, 5.0, 4.5 - 0.1 * i }, label = $"chunk-{i}"
                }),
            };
            alone.Headers.TryAddWithoutValidation("Prefer", "wait=60");
            var single = await WithOptimum((await (await _client.SendAsync(alone)).Content.ReadFromJsonAsync<FitResource>(TestApi.Json))!.Id);
            var chunked = await WithOptimum(batch.FitIds[i]);

            Assert.Equal("succeeded", chunked.Status);
            Assert.Equal("ready", chunked.OptimumStatus);
            Assert.Equal(single.Params, chunked.Params);
            Assert.Equal(single.History, chunked.History);
            // Field for field, but for what names the fit and when it ran.
            Assert.Equal(Comparable(await _client.GetStringAsync($"/v1/fits/{single.Id}")), Comparable(await _client.GetStringAsync($"/v1/fits/{chunked.Id}")));
        }
    }

    [Fact]
    public async Task FitsSharingTheirPointsInAChunkGiveTheResultsOfEachAlone()
    {
        // The points come once, in defaults: the chunk's fits share them, and with them a compiled model and an optimum
        // per degree and loss (ChunkMemo). Each item varies what must not carry from one fit to the next.
        var x = new[] { 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0 };
        var y = new[] { 1.0, 0.4, 3.0, 2.5, 5.0, 4.5, 9.0 };
        var defaults = new { x, y, degree = 2, loss = "mae", steps = 80 };
        object[] items =
        [
            new { learningRate = 0.01 },
            new { learningRate = 0.03 },
            new { learningRate = 0.01, initialParams = new[] { -1.0, 2.0, 0.5 } },
            new { }, // defaulted rate: descends on x scaled to [−1, 1]
            new { loss = "mse", learningRate = 0.002 },
            new { loss = "huber", huberDelta = 0.5, learningRate = 0.01 },
            new { loss = "huber", huberDelta = 2.0, learningRate = 0.01 },
            new { degree = 1, learningRate = 0.01 },
            new { learningRate = 0.01, weights = new[] { 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0 } },
            new { learningRate = 0.01, optimizer = new { type = "adam" } },
            new { learningRate = 0.02 },
            new { loss = "mse", learningRate = 0.001 },
            new { },
        ];
        var batch = await Submit(new { defaults, fits = items });
        Assert.Equal("completed", (await WaitFor(batch.Id)).Status);

        for (var i = 0; i < items.Length; i++)
        {
            var fields = JsonSerializer.SerializeToNode(defaults, TestApi.Json)!.AsObject();
            foreach (var (name, value) in JsonSerializer.SerializeToNode(items[i], TestApi.Json)!.AsObject()) fields[name] = value?.DeepClone();
            var alone = new HttpRequestMessage(HttpMethod.Post, "/v1/fits") { Content = JsonContent.Create(fields) };
            alone.Headers.TryAddWithoutValidation("Prefer", "wait=60");
            var single = await WithOptimum((await (await _client.SendAsync(alone)).Content.ReadFromJsonAsync<FitResource>(TestApi.Json))!.Id);
            var chunked = await WithOptimum(batch.FitIds[i]);

            Assert.Equal("succeeded", chunked.Status);
            Assert.Equal(single.Params, chunked.Params);
            Assert.Equal(Comparable(await _client.GetStringAsync($"/v1/fits/{single.Id}")), Comparable(await _client.GetStringAsync($"/v1/fits/{chunked.Id}")));
        }
    }

    [Fact]
    public async Task ItemsThatSetNothingAreEachTheDefaultsOwnFitWithIdsRisingInItemOrder()
    {
        // The validator hands every {} item the defaults' one fit, and the submitter makes its stored form once (ranges of
        // 256 on every core): still one fit each, each with its own id, in item order, each the defaults' result.
        var defaults = new { x = new[] { 0.0, 1.0, 2.0, 3.0 }, y = new[] { 1.0, 3.0, 5.0, 8.0 }, degree = 1, loss = "mae", learningRate = 0.02, steps = 50 };
        var items = Enumerable.Range(0, 300).Select(i => i == 150 ? (object)new { label = "own" } : new { }).ToArray();

        var batch = await Submit(new { defaults, fits = items });

        Assert.Equal(300, batch.FitIds.Distinct().Count());
        Assert.Equal(batch.FitIds.Order(StringComparer.Ordinal), batch.FitIds);
        Assert.Equal("completed", (await WaitFor(batch.Id)).Status);
        await WithOptimum(batch.FitIds[0]);
        var first = Comparable(await _client.GetStringAsync($"/v1/fits/{batch.FitIds[0]}"));
        foreach (var i in new[] { 1, 149, 151, 255, 256, 299 })
        {
            await WithOptimum(batch.FitIds[i]);
            Assert.Equal(first, Comparable(await _client.GetStringAsync($"/v1/fits/{batch.FitIds[i]}")));
        }
        Assert.Equal("own", (await _client.WaitForEnd(batch.FitIds[150])).Label);
    }

    /// <summary>A fit resource's JSON without its id (and the history link that holds it) and times: what two runs of the same request must agree on.</summary>
    private static string Comparable(string resourceJson)
    {
        var fit = System.Text.Json.Nodes.JsonNode.Parse(resourceJson)!.AsObject();
        foreach (var name in new[] { "id", "historyNext", "createdAt", "startedAt", "finishedAt" }) fit.Remove(name);
        return fit.ToJsonString();
    }

    [Fact]
    public async Task CancelAndDeleteReachEveryFit()
    {
        // Thousands of points and ten million steps: minutes of work, so every fit is still queued or running when cancelled.
        var (x, y) = TestApi.TiledLesson(100);
        var slow = new { x, y, degree = 3, loss = "mse", learningRate = 1e-6, steps = 10_000_000, historyEvery = 10_000 };
        var batch = await Submit(new { defaults = slow, fits = Enumerable.Range(0, 6).Select(i => new { label = $"slow-{i}" }).ToArray() });

        Assert.Equal(HttpStatusCode.Accepted, (await _client.PostAsync($"/v1/batches/{batch.Id}/cancel", null)).StatusCode);
        var cancelled = await WaitFor(batch.Id);
        Assert.Equal("completed", cancelled.Status);
        Assert.Equal(6, cancelled.Counts.Cancelled);
        Assert.Equal(HttpStatusCode.Conflict, (await _client.PostAsync($"/v1/batches/{batch.Id}/cancel", null)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/v1/batches/{batch.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v1/batches/{batch.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v1/fits/{batch.FitIds[0]}")).StatusCode);
    }

    [Fact]
    public async Task AnUnknownBatchIs404()
    {
        var response = await _client.GetAsync("/v1/batches/nope/results");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("There is no batch with id 'nope'.", (await response.ReadProblem()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task PreferWaitOnABatchAnswersWhenItsLastFitEndsNotWhenTheWaitRunsOut()
    {
        // Many small fits end while the request registers its waits: an end published before a wait was registered
        // must be seen in the store, not waited for until the 60 s are up.
        var batch = await Submit(new { defaults = new { degree = 1, loss = "mse", learningRate = 0.02, steps = 50 }, fits = Enumerable.Range(0, 400).Select(Item).ToArray() });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var done = await WaitFor(batch.Id);

        Assert.Equal("completed", done.Status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), $"answered after {clock.Elapsed}, not when the batch completed");
    }
}
