using System.Diagnostics;
using System.Net;
using FitService.Api.Jobs;
using FitService.Api.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// Idle worker processes poll the shared queue seldom, and a job enqueued by an API process wakes one at once (NOTIFY).
/// Real processes: in one test process Hangfire's own in-process wake-up would hide a missing cross-process one.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class WakeupTests(PostgresCluster cluster, ITestOutputHelper log)
{
    private static object Fit(int steps) => new { x = new[] { 0.0, 1, 2, 3 }, y = new[] { 1.0, 3, 5, 7 }, degree = 1, loss = "mse", learningRate = 0.0002, steps };

    [Fact]
    public void HangfireWorkersCanBeWokenFromOutside() => Assert.True(HangfireWakeups.Available,
        "Hangfire.PostgreSql no longer has the queue event registry HangfireWakeups reads: idle workers would start jobs of other processes only at their poll");

    [PostgresFact]
    public async Task AJobEnqueuedByAnApiProcessStartsInAWorkerProcessLongBeforeItsNextPoll()
    {
        var database = await cluster.CreateDatabaseAsync("wake");
        string[] shared = ["Storage:Provider=postgres", $"Storage:ConnectionString={database}"];
        await using var worker = await ServiceProcess.StartAsync([.. shared, "Api:Enabled=false", "Workers:Count=2", "Workers:QueuePollMilliseconds=600000"]);
        // Small waited fits would run on the API process's requests (InlineFits): this test is about the worker's path.
        await using var api = await ServiceProcess.StartAsync([.. shared, "Workers:Count=0", "Workers:InlineFitWork=0"]);

        // A small fit (a drain job) and a big one (a job of its own), each answered within the wait: a poll every ten minutes could not.
        foreach (var steps in new[] { 500, 1000, 300_000 })
        {
            var clock = Stopwatch.StartNew();
            var response = await api.Client.PostFit(Fit(steps), ("Prefer", "wait=60"));
            log.WriteLine($"{steps} steps: {(int)response.StatusCode} after {clock.ElapsedMilliseconds} ms");
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} after {clock.Elapsed}\n{worker.Output}");
        }
    }

    [PostgresFact]
    public async Task AnIdleWorkerProcessSendsFewQueries()
    {
        var database = await cluster.CreateDatabaseAsync("idle");
        await using var worker = await ServiceProcess.StartAsync("Storage:Provider=postgres", $"Storage:ConnectionString={database}",
            "Api:Enabled=false", "Workers:Count=4");
        var name = new NpgsqlConnectionStringBuilder(database).Database!;
        await using var data = NpgsqlDataSource.Create(cluster.ServerConnectionString);

        async Task<long> TransactionsAsync()
        {
            // Statistics reach pg_stat_database within about a second; ask for a fresh snapshot.
            await using var clear = data.CreateCommand("SELECT pg_stat_clear_snapshot()");
            await clear.ExecuteNonQueryAsync();
            await using var cmd = data.CreateCommand("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1");
            cmd.Parameters.AddWithValue(name);
            return (long)(await cmd.ExecuteScalarAsync())!;
        }

        await Task.Delay(TimeSpan.FromSeconds(3)); // past start-up (schema, first polls)
        var before = await TransactionsAsync();
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(20));
        var perSecond = (await TransactionsAsync() - before) / clock.Elapsed.TotalSeconds;

        log.WriteLine($"idle worker (4 fit workers, 8 webhook workers): {perSecond:F1} transactions/s");
        // Each poll is one transaction of two statements; 50 transactions/s would be about twice the 50 queries/s allowed.
        Assert.True(perSecond < 25, $"{perSecond:F1} transactions/s");
    }
}
