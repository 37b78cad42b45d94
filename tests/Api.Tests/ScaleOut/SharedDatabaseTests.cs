using System.Diagnostics;
using System.Net;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;
using FitService.Api.Tests.Webhooks;
using FitService.Engine;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// An API-only host and a worker-only host on one PostgreSQL database (two WebApplicationFactory hosts: every singleton,
/// signal transport and Hangfire server is their own; only the database is shared).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SharedDatabaseTests(PostgresCluster cluster)
{
    private static object Request(int steps) => new
    {
        x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", learningRate = 0.001, steps,
        initialParams = new[] { 1.1, 1.1, 1.1 }, optimizer = new { type = "sgd", momentum = 0.9 },
    };

    private static FitResult Expected(int steps) => Fitter.Run(new FitProblem(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mae), 0.001,
        steps, [1.1, 1.1, 1.1], new SgdSpec(Momentum: 0.9)));

    private async Task<(FitServiceFactory Api, FitServiceFactory Worker)> StartAsync(params (string, string?)[] more)
    {
        var database = await cluster.CreateDatabaseAsync("shared");
        (string, string?)[] shared = [("Storage:Provider", "postgres"), ("Storage:ConnectionString", database), .. more];
        // Small waited fits would run on the API host's requests (InlineFits): these tests are about the worker's path.
        var api = new FitServiceFactory([.. shared, ("Workers:Count", "0"), ("Workers:InlineFitWork", "0")]);
        var worker = new FitServiceFactory([.. shared, ("Api:Enabled", "false"), ("Workers:Count", "2")]);
        api.CreateClient();
        worker.CreateClient();
        return (api, worker);
    }

    [PostgresFact]
    public async Task TheApiAnswersPreferWaitAsSoonAsAWorkerProcessFinishes()
    {
        var (api, worker) = await StartAsync();
        await using var _ = api;
        await using var __ = worker;
        var client = api.CreateClient();

        // Big enough for its own job, long enough (a few hundred ms) that the answer must come from the worker's signal.
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fits") { Content = JsonContent.Create(Request(300_000)) };
        request.Headers.TryAddWithoutValidation("Prefer", "wait=60");
        var clock = Stopwatch.StartNew();
        var response = await client.SendAsync(request);
        var answeredAt = DateTimeOffset.UtcNow;
        var elapsed = clock.Elapsed;

        var fit = await response.ReadFit();
        var now = await client.GetFromJsonAsync<FitResource>($"/v1/fits/{fit.Id}", TestApi.Json);
        Assert.True(response.StatusCode == HttpStatusCode.Created,
            $"{(int)response.StatusCode} after {elapsed}; the fit is now {now!.Status}, finished at {now.FinishedAt}, answered at {answeredAt}");
        Assert.Equal("succeeded", fit.Status);
        Assert.True(elapsed < TimeSpan.FromSeconds(50), $"took {elapsed}");
        Assert.True(answeredAt - fit.FinishedAt!.Value < TimeSpan.FromSeconds(5), $"answered {answeredAt - fit.FinishedAt} after the end");
        var expected = Expected(300_000);
        Assert.Equal(expected.Params, fit.Params!);
        Assert.Equal(expected.History, await client.WholeHistory(fit.Id));
    }

    [PostgresFact]
    public async Task SmallFitsRunInDrainJobsAndWakeTheirWaiters()
    {
        // The Hangfire path (DirectDrainTests has the default one).
        var (api, worker) = await StartAsync(("Workers:DirectDrains", "false"));
        await using var _ = api;
        await using var __ = worker;
        var client = api.CreateClient();

        var fits = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fits") { Content = JsonContent.Create(Request(200 + i)) };
            request.Headers.TryAddWithoutValidation("Prefer", "wait=30");
            var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return (Steps: 200 + i, Fit: await response.ReadFit());
        }));

        foreach (var (steps, fit) in fits)
        {
            Assert.Equal("succeeded", fit.Status);
            Assert.Equal(Expected(steps).Params, fit.Params!);
        }
        // A drain job wakes its waiters as each fit ends and is marked succeeded only after it returns: wait for that.
        var jobs = worker.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi();
        var succeeded = jobs.SucceededJobs(0, 1000);
        for (var clock = Stopwatch.StartNew(); (jobs.ProcessingCount() > 0 || succeeded.Count == 0) && clock.Elapsed < TimeSpan.FromSeconds(20);)
        {
            await Task.Delay(50);
            succeeded = jobs.SucceededJobs(0, 1000);
        }
        Assert.Contains(succeeded, j => j.Value.Job.Type == typeof(FitService.Api.Jobs.DrainJob));
        Assert.DoesNotContain(succeeded, j => j.Value.Job.Type == typeof(FitService.Api.Jobs.FitJob));
        Assert.True(succeeded.Count < 40, $"{succeeded.Count} jobs for 40 small fits");
    }

    [PostgresFact]
    public async Task ABatchOfSmallFitsIsDrainedByMoreThanOneDrainJob()
    {
        // One batch is one kick, so one drain job; a drain that claims a full chunk kicks another, so the worker threads share it.
        var (api, worker) = await StartAsync(("Workers:ChunkSize", "4"), ("Workers:DirectDrains", "false"));
        await using var _ = api;
        await using var __ = worker;
        var client = api.CreateClient();

        var response = await client.PostAsJsonAsync("/v1/batches", new { defaults = Request(200), fits = Enumerable.Range(0, 60).Select(_ => new { }).ToArray() });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var batch = (await response.Content.ReadFromJsonAsync<FitService.Contracts.BatchResource>(TestApi.Json))!;
        var expected = Expected(200).Params;
        foreach (var id in batch.FitIds)
        {
            var fit = await client.WaitForEnd(id);
            Assert.Equal("succeeded", fit.Status);
            Assert.Equal(expected, fit.Params!);
        }
        var jobs = worker.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi();
        var drains = 0L;
        for (var clock = Stopwatch.StartNew(); drains < 2 && clock.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(50))
        {
            drains = jobs.SucceededJobs(0, 1000).Count(j => j.Value.Job.Type == typeof(FitService.Api.Jobs.DrainJob));
        }
        Assert.True(drains >= 2, $"{drains} drain job(s) for a batch of 60 fits claimed 4 at a time");
    }

    [PostgresFact]
    public async Task KicksWhileTheDrainJobWaitsEnqueueNoOtherAndThatJobRunsEveryFit()
    {
        var database = await cluster.CreateDatabaseAsync("shared");
        // A long lease: a drain job waiting longer than a lease is no longer trusted to come (see DrainKicker).
        (string, string?)[] shared = [("Storage:Provider", "postgres"), ("Storage:ConnectionString", database), ("Workers:LeaseSeconds", "300"),
            ("Workers:DirectDrains", "false")];
        // No worker yet: the first drain job stays enqueued while more small fits arrive.
        await using var api = new FitServiceFactory([.. shared, ("Workers:Count", "0")]);
        var client = api.CreateClient();
        var kicker = api.Services.GetRequiredService<FitService.Api.Jobs.DrainKicker>();

        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var handled = kicker.Handled;
            ids.Add((await (await client.PostFit(Request(200 + i))).ReadFit()).Id);
            for (var clock = Stopwatch.StartNew(); kicker.Handled == handled && clock.Elapsed < TimeSpan.FromSeconds(30);) await Task.Delay(10);
            Assert.True(kicker.Handled > handled, "the kick was not handled");
        }
        Assert.Equal(1, kicker.Enqueued);

        await using var worker = new FitServiceFactory([.. shared, ("Api:Enabled", "false"), ("Workers:Count", "2")]);
        worker.CreateClient();
        for (var i = 0; i < ids.Count; i++)
        {
            var fit = await client.WaitForEnd(ids[i], seconds: 120);
            Assert.Equal("succeeded", fit.Status);
            Assert.Equal(Expected(200 + i).Params, fit.Params!);
        }
    }

    [PostgresFact]
    public async Task ProgressOfAFitInAWorkerProcessReachesTheApiProcess()
    {
        var (api, worker) = await StartAsync();
        await using var _ = api;
        await using var __ = worker;
        var client = api.CreateClient();
        var signals = api.Services.GetRequiredService<Notifications.IFitSignals>();

        // Many points: the fit runs for seconds, long enough for progress reports (every 250 ms) to cross processes.
        var (x, y) = TestApi.TiledLesson(50);
        var fit = await (await client.PostFit(new { x, y, degree = 2, loss = "mae", learningRate = 0.001, steps = 3_000_000 })).ReadFit();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<Notifications.FitSignal>();
        await foreach (var signal in signals.WatchAsync(fit.Id, timeout.Token))
        {
            seen.Add(signal);
            if (seen.Count == 2) break;
        }

        Assert.Equal(2, seen.Count);
        Assert.All(seen, s => Assert.Equal(fit.Id, s.FitId));
        Assert.Contains(seen, s => !s.Ended && s.Step > 0 && s.Params is { Length: 3 });
        await client.PostAsync($"/v1/fits/{fit.Id}/cancel", null);
        Assert.Equal("cancelled", (await client.WaitForEnd(fit.Id)).Status);
    }

    [PostgresFact]
    public async Task AWebhookIsSignedRetriedAndDeliveredOnceFromTheSharedDatabase()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        var (api, worker) = await StartAsync(WebhookSettings.Loopback());
        await using var _ = api;
        await using var __ = worker;
        var client = api.CreateClient();
        var hook = receiver.NewHook(new Answer(503));

        var fit = await (await client.PostFit(WebhookSettings.FitWithWebhook(receiver.Url(hook)))).ReadFit();
        var received = await receiver.WaitForAsync(hook, 2);

        Assert.All(received, r => Assert.True(r.SignatureValid));
        Assert.Equal(received[0].Id, received[1].Id);
        Assert.Contains($"\"id\":\"{fit.Id}\"", received[1].Body);
        var deliveries = await client.DeliveriesWhen(fit.Id, d => d.State == "delivered");
        Assert.Equal([503, 200], deliveries.Items.Select(a => a.StatusCode ?? 0));
        await Task.Delay(500);
        Assert.Equal(2, receiver.Received(hook).Count);
    }
}
