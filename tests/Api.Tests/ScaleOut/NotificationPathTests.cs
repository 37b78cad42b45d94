using System.Diagnostics;
using System.Net;
using FitService.Api.Tests.Infrastructure;
using FitService.Api.Tests.Webhooks;
using Xunit.Abstractions;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// A fit's end reaches the API process (<c>Prefer: wait</c>) and the webhook receiver on events, not on timers: every
/// poll and sweep that could also find it (Hangfire's queue poll, the lease sweep, the webhook recovery sweep) is ten
/// minutes or more away, and the answers still come within the test's generous waits. Real processes: in one test process
/// Hangfire's in-process wake-up would hide a missing cross-process one.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class NotificationPathTests(PostgresCluster cluster, ITestOutputHelper log)
{
    private static readonly string[] Timers =
    [
        "Workers:QueuePollMilliseconds=600000", // Hangfire's queue poll
        "Workers:LeaseSeconds=1200", // the lease sweep runs every half lease
        "Webhooks:SweepInterval=00:10:00", // the webhook recovery sweep
    ];

    private static object Fit(int steps) => new { x = new[] { 0.0, 1, 2, 3 }, y = new[] { 1.0, 3, 5, 7 }, degree = 1, loss = "mse", learningRate = 0.0002, steps };

    private static object Fit(int steps, string hook) => new
    {
        x = new[] { 0.0, 1, 2, 3 }, y = new[] { 1.0, 3, 5, 7 }, degree = 1, loss = "mse", learningRate = 0.0002, steps, webhook = new { url = hook },
    };

    private async Task<(ServiceProcess Api, ServiceProcess Worker)> StartAsync()
    {
        var database = await cluster.CreateDatabaseAsync("notify");
        string[] shared =
        [
            "Storage:Provider=postgres", $"Storage:ConnectionString={database}", .. Timers,
            .. WebhookSettings.Loopback().Select(s => $"{s.Item1}={s.Item2}"),
        ];
        var worker = await ServiceProcess.StartAsync([.. shared, "Api:Enabled=false", "Workers:Count=2"]);
        // Small waited fits would run on the API process's requests (InlineFits): these tests are about the worker's path.
        var api = await ServiceProcess.StartAsync([.. shared, "Workers:Count=0", "Workers:InlineFitWork=0"]);
        return (api, worker);
    }

    [PostgresFact]
    public async Task PreferWaitInAnApiProcessIsAnsweredByTheWorkersNotificationWithEveryPollMinutesAway()
    {
        var (api, worker) = await StartAsync();
        await using var _ = worker;
        await using var __ = api;

        // A small fit (a drain job) and a big one (a job of its own, running for a while after the wait began).
        foreach (var steps in new[] { 500, 300_000 })
        {
            var clock = Stopwatch.StartNew();
            var response = await api.Client.PostFit(Fit(steps), ("Prefer", "wait=60"));
            log.WriteLine($"{steps} steps: {(int)response.StatusCode} after {clock.ElapsedMilliseconds} ms");
            // Answered before the wait ran out: a wait that times out reads the store once more, and would find the end too.
            Assert.True(response.StatusCode == HttpStatusCode.Created && clock.Elapsed < TimeSpan.FromSeconds(50),
                $"{(int)response.StatusCode} after {clock.Elapsed}\n{worker.Output}");
            Assert.Equal("succeeded", (await response.ReadFit()).Status);
        }
    }

    [PostgresFact]
    public async Task AWebhookOfAFitEndedInAWorkerProcessArrivesWithEverySweepMinutesAway()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        var (api, worker) = await StartAsync();
        await using var _ = worker;
        await using var __ = api;
        var small = receiver.NewHook();
        var big = receiver.NewHook();

        var smallFit = await (await api.Client.PostFit(Fit(500, receiver.Url(small)))).ReadFit();
        var bigFit = await (await api.Client.PostFit(Fit(300_000, receiver.Url(big)))).ReadFit();

        // Well inside the ten minutes of any sweep: only the end's own path can have delivered them.
        var received = (await receiver.WaitForAsync(small, 1, seconds: 120)).Concat(await receiver.WaitForAsync(big, 1, seconds: 120)).ToList();
        Assert.All(received, r => Assert.True(r.SignatureValid));
        Assert.Contains($"\"id\":\"{smallFit.Id}\"", received[0].Body);
        Assert.Contains($"\"id\":\"{bigFit.Id}\"", received[1].Body);
    }
}
