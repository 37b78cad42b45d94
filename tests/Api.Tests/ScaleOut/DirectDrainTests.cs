using System.Diagnostics;
using System.Net;
using FitService.Api.Jobs;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// Small fits on the shared store are drained by the worker processes as soon as an API process announces them
/// (<c>Workers:DirectDrains</c>, the default), with no Hangfire job; the lease sweep stays the net for announcements
/// nobody heard. API-only and worker-only hosts on one PostgreSQL database.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class DirectDrainTests(PostgresCluster cluster)
{
    private static object Request(int steps) => new
    {
        x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", learningRate = 0.001, steps,
        initialParams = new[] { 1.1, 1.1, 1.1 }, optimizer = new { type = "sgd", momentum = 0.9 },
    };

    private static double[] Expected(int steps) => Fitter.Run(new FitProblem(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mae), 0.001,
        steps, [1.1, 1.1, 1.1], new SgdSpec(Momentum: 0.9))).Params;

    // A long lease: the sweep (every half lease) does not come within a test, so what runs the fits is the announcement.
    private async Task<(string, string?)[]> SharedAsync() =>
        [("Storage:Provider", "postgres"), ("Storage:ConnectionString", await cluster.CreateDatabaseAsync("direct")), ("Workers:LeaseSeconds", "600")];

    private static FitServiceFactory Api((string, string?)[] shared) => new([.. shared, ("Workers:Count", "0"), ("Workers:InlineFitWork", "0")]);

    private static FitServiceFactory Worker((string, string?)[] shared, int threads = 2, params (string, string?)[] more) =>
        new([.. shared, ("Api:Enabled", "false"), ("Workers:Count", threads.ToString(System.Globalization.CultureInfo.InvariantCulture)), .. more]);

    [PostgresFact]
    public async Task SmallFitsRunWithoutAHangfireJobAndWakeTheirWaiters()
    {
        var shared = await SharedAsync();
        await using var api = Api(shared);
        await using var worker = Worker(shared);
        worker.CreateClient();
        var client = api.CreateClient();

        var fits = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fits") { Content = JsonContent.Create(Request(200 + i)) };
            request.Headers.TryAddWithoutValidation("Prefer", "wait=60");
            var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return (Steps: 200 + i, Fit: await response.ReadFit());
        }));

        foreach (var (steps, fit) in fits)
        {
            Assert.Equal("succeeded", fit.Status);
            Assert.Equal(Expected(steps), fit.Params!);
        }
        Assert.True(api.Services.GetRequiredService<DrainKicker>().Announced > 0, "no drain was announced");
        Assert.Equal(0, api.Services.GetRequiredService<DrainKicker>().Enqueued);
        Assert.True(worker.Services.GetRequiredService<DirectDrains>().Started > 0, "the worker started no drain");
        var jobs = worker.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi();
        Assert.DoesNotContain(jobs.SucceededJobs(0, 1000), j => j.Value.Job.Type == typeof(DrainJob));
        Assert.DoesNotContain(jobs.ProcessingJobs(0, 1000), j => j.Value.Job.Type == typeof(DrainJob));
        Assert.DoesNotContain(jobs.EnqueuedJobs(HangfireFitQueue.Queue, 0, 1000), j => j.Value.Job.Type == typeof(DrainJob));
    }

    [PostgresFact]
    public async Task SmallFitsStoredWhileNoWorkerRunsAreDrainedWhenOneStarts()
    {
        var shared = await SharedAsync();
        await using var api = Api(shared);
        var client = api.CreateClient();
        var kicker = api.Services.GetRequiredService<DrainKicker>();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add((await (await client.PostFit(Request(200 + i))).ReadFit()).Id);
        // The announcements went out, and nobody heard them.
        for (var clock = Stopwatch.StartNew(); kicker.Announced == 0 && clock.Elapsed < TimeSpan.FromSeconds(30);) await Task.Delay(10);
        Assert.True(kicker.Announced > 0, "no drain was announced");

        await using var worker = Worker(shared);
        worker.CreateClient();
        for (var i = 0; i < ids.Count; i++)
        {
            var fit = await client.WaitForEnd(ids[i], seconds: 120);
            Assert.Equal("succeeded", fit.Status);
            Assert.Equal(Expected(200 + i), fit.Params!);
        }
    }

    [PostgresFact]
    public async Task ABatchSpreadsOverEveryDrainSlotOfAWorker()
    {
        // One batch is one announcement, so one drain; a claim that comes back full starts another beside it.
        var shared = await SharedAsync();
        await using var api = Api(shared);
        await using var worker = Worker(shared, threads: 2, ("Workers:ChunkSize", "4"));
        worker.CreateClient();
        var client = api.CreateClient();

        var response = await client.PostAsJsonAsync("/v1/batches", new { defaults = Request(20_000), fits = Enumerable.Range(0, 60).Select(_ => new { }).ToArray() });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var batch = (await response.Content.ReadFromJsonAsync<FitService.Contracts.BatchResource>(TestApi.Json))!;
        var expected = Expected(20_000);
        foreach (var id in batch.FitIds)
        {
            var fit = await client.WaitForEnd(id, seconds: 120);
            Assert.Equal("succeeded", fit.Status);
            Assert.Equal(expected, fit.Params!);
        }
        Assert.Equal(2, worker.Services.GetRequiredService<DirectDrains>().MostRunning);
    }

    [PostgresFact]
    public async Task FitsAnnouncedWhileEveryDrainIsBusyRunAfterIt()
    {
        // One drain slot, and small fits long enough (millions of steps) that the later ones arrive while it runs the first.
        var shared = await SharedAsync();
        await using var api = Api([.. shared, ("Workers:SmallFitWork", "1000000000")]);
        await using var worker = Worker(shared, threads: 1, ("Workers:SmallFitWork", "1000000000"));
        worker.CreateClient();
        var client = api.CreateClient();

        var first = (await (await client.PostFit(new
        {
            x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", learningRate = 0.001, steps = 2_000_000, historyEvery = 10_000,
        })).ReadFit()).Id;
        for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(60); await Task.Delay(20))
        {
            if ((await client.GetFromJsonAsync<FitResource>($"/v1/fits/{first}", TestApi.Json))!.Status != "queued") break;
        }
        var later = new List<string>();
        for (var i = 0; i < 3; i++) later.Add((await (await client.PostFit(Request(300 + i))).ReadFit()).Id);

        Assert.Equal("succeeded", (await client.WaitForEnd(first, seconds: 120)).Status);
        for (var i = 0; i < later.Count; i++)
        {
            var fit = await client.WaitForEnd(later[i], seconds: 120);
            Assert.Equal("succeeded", fit.Status);
            Assert.Equal(Expected(300 + i), fit.Params!);
        }
    }
}
