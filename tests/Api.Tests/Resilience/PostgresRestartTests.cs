using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;
using Xunit.Abstractions;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// PostgreSQL restarted under load, for real: the published service runs as a process on a cluster of the test's own
/// (restarting the shared one would break the tests running beside it). Clients keep submitting small fits before,
/// during and after a fast stop and start of the server on the same port. While it is away a submission is a 503
/// (problem details, <c>Retry-After</c>) or succeeds, never a 500; once it is back every accepted fit ends
/// <c>succeeded</c> with exactly the engine's result, new submissions work and <c>/health/ready</c> is 200 again.
/// </summary>
public sealed class PostgresRestartTests(ITestOutputHelper log)
{
    private const int Clients = 2;
    private const int Steps = 2000;

    private static object Request(int i) => new
    {
        x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = 0.01, steps = Steps,
        initialParams = new[] { 1.1, 1.1, 1.1 }, optimizer = new { type = "sgd" }, label = $"restart-{i}",
    };

    private static FitResult Expected() => Fitter.Run(new FitProblem(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mse), 0.01, Steps,
        [1.1, 1.1, 1.1], new SgdSpec()));

    private sealed record Submission(int Index, TimeSpan At, HttpStatusCode Status, string? FitId);

    [PostgresFact(OwnCluster = true)]
    public async Task FitsContinueAfterPostgresIsRestartedUnderLoad()
    {
        await using var postgres = await PostgresCluster.StartOwnAsync();
        var database = await postgres.CreateDatabaseAsync("restart");
        await using var service = await ServiceProcess.StartAsync("Storage:Provider=postgres", $"Storage:ConnectionString={database}",
            "Workers:Count=2", "Workers:LeaseSeconds=3");
        var client = service.Client;
        var clock = Stopwatch.StartNew();
        var submissions = new ConcurrentQueue<Submission>();
        var failures = new ConcurrentQueue<string>();
        var next = -1;
        using var stop = new CancellationTokenSource();

        async Task SubmitLoopAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref next);
                var at = clock.Elapsed;
                HttpResponseMessage response;
                try
                {
                    response = await client.PostFit(Request(i));
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue($"submit {i} at {at}: no answer ({e.Message})");
                    continue;
                }
                using (response)
                {
                    switch (response.StatusCode)
                    {
                        case HttpStatusCode.Accepted:
                            submissions.Enqueue(new Submission(i, at, response.StatusCode, (await response.ReadFit()).Id));
                            break;
                        case HttpStatusCode.ServiceUnavailable:
                            var body = await response.Content.ReadAsStringAsync();
                            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json" || response.Headers.RetryAfter is null)
                            {
                                failures.Enqueue($"submit {i} at {at}: 503 without problem details or Retry-After: {body}");
                            }
                            submissions.Enqueue(new Submission(i, at, response.StatusCode, null));
                            await Task.Delay(100);
                            break;
                        default:
                            failures.Enqueue($"submit {i} at {at}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                            break;
                    }
                }
            }
        }

        var loops = Enumerable.Range(0, Clients).Select(_ => Task.Run(SubmitLoopAsync)).ToArray();

        // Load first, then a fast stop (every connection is cut), two seconds without a server, and a start on the same port.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var stoppedAt = clock.Elapsed;
        TimeSpan startedAt;
        try
        {
            await postgres.StopServerAsync();
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
        finally
        {
            await postgres.StartServerAsync();
            startedAt = clock.Elapsed;
        }

        // Keep submitting through the recovery.
        await Task.Delay(TimeSpan.FromSeconds(5));
        await stop.CancelAsync();
        await Task.WhenAll(loops);

        var all = submissions.OrderBy(s => s.Index).ToList();
        var accepted = all.Where(s => s.Status == HttpStatusCode.Accepted).ToList();
        log.WriteLine($"PostgreSQL down from {stoppedAt} to {startedAt}; {all.Count} submissions: {accepted.Count} accepted, " +
                      $"{all.Count - accepted.Count} answered 503 (from {all.FirstOrDefault(s => s.FitId is null)?.At} to {all.LastOrDefault(s => s.FitId is null)?.At})");
        Assert.True(failures.IsEmpty, string.Join('\n', failures) + "\n" + service.Output);
        Assert.Contains(accepted, s => s.At < stoppedAt);
        Assert.Contains(all, s => s.Status == HttpStatusCode.ServiceUnavailable);
        Assert.True(accepted.Any(s => s.At > startedAt), "no submission was accepted after PostgreSQL came back:\n" + service.Output);

        // The service is ready again and takes new fits.
        var readyBy = DateTime.UtcNow.AddSeconds(30);
        while ((await client.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < readyBy, "/health/ready is not 200 again 30 s after PostgreSQL came back:\n" + service.Output);
            await Task.Delay(250);
        }
        // The fit-signal listener (LISTEN on its own connection) is back too; its log line is the only outside sign in one process.
        while (!service.Output.Contains("Listening to fit signals again"))
        {
            Assert.True(DateTime.UtcNow < readyBy, "the fit-signal listener did not reconnect:\n" + service.Output);
            await Task.Delay(250);
        }
        var after = await client.PostFit(Request(-1));
        Assert.True(after.StatusCode == HttpStatusCode.Accepted, $"a submission after recovery: {(int)after.StatusCode}\n{service.Output}");
        accepted.Add(new Submission(-1, clock.Elapsed, after.StatusCode, (await after.ReadFit()).Id));

        // Every accepted fit runs to the end, with exactly the engine's result.
        var expected = Expected();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        foreach (var s in accepted)
        {
            var fit = await client.WaitForEnd(s.FitId!, seconds: (int)Math.Clamp((deadline - DateTime.UtcNow).TotalSeconds, 1, 60));
            while (fit.Status is "queued" or "running" && DateTime.UtcNow < deadline)
            {
                fit = await client.WaitForEnd(s.FitId!, seconds: (int)Math.Clamp((deadline - DateTime.UtcNow).TotalSeconds, 1, 60));
            }
            Assert.True(fit.Status == "succeeded",
                $"fit {s.FitId} (submitted at {s.At}) is {fit.Status} ({fit.Error}) 90 s after PostgreSQL came back:\n{service.Output}");
            Assert.Equal(expected.Params, fit.Params!);
            Assert.Equal(expected.Loss, fit.Loss);
        }
        Assert.False(service.HasExited);
        log.WriteLine($"all {accepted.Count} accepted fits succeeded by {clock.Elapsed}");
    }
}
