using System.Diagnostics;
using System.Net;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;
using Npgsql;
using Xunit.Abstractions;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// A database restart while fits run must not leave them waiting: not for their own process's lease (a retried job finds
/// it), not for a lease sweep, not for a Hangfire lock row the restart left behind. The leases are long (120 s), so a
/// stall of one lease would show.
/// </summary>
public sealed class PostgresStallTests(ITestOutputHelper log)
{
    /// <summary>Short of a lease (120 s) or Hangfire's lock timeout (minutes); generous for a rerun of seconds on a loaded machine.</summary>
    private static readonly TimeSpan MostAFitMayWaitAfterTheRestart = TimeSpan.FromSeconds(75);

    private static object Big(int i)
    {
        var (x, y) = TestApi.TiledLesson(100);
        return new { x, y, degree = 2, loss = "mse", learningRate = 0.01, steps = 1_500_000 + i, initialParams = new[] { 1.1, 1.1, 1.1 } };
    }

    private static object Small(int i) => new
    {
        x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mse", learningRate = 0.01, steps = 2000 + i, initialParams = new[] { 1.1, 1.1, 1.1 },
    };

    /// <summary>A wait that the first requests after the restart may answer 503 (connections of the pool found broken).</summary>
    private static async Task<FitResource> WaitForEndAsync(HttpClient client, string id)
    {
        for (var tries = 0; ; tries++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{id}");
            request.Headers.TryAddWithoutValidation("Prefer", "wait=30");
            var response = await client.SendAsync(request);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || tries == 20) return await response.EnsureSuccessStatusCode().ReadFit();
            await Task.Delay(250);
        }
    }

    [PostgresFact(OwnCluster = true)]
    public async Task FitsRunningWhenPostgresRestartsEndSoonAfterItIsBack()
    {
        await using var postgres = await PostgresCluster.StartOwnAsync();
        var database = await postgres.CreateDatabaseAsync("stall");
        await using var service = await ServiceProcess.StartAsync("Storage:Provider=postgres", $"Storage:ConnectionString={database}", "Workers:Count=4", "Workers:LeaseSeconds=120");
        var client = service.Client;

        var ids = new List<string>();
        for (var i = 0; i < 2; i++) ids.Add((await (await client.PostFit(Big(i))).ReadFit()).Id);
        for (var i = 0; i < 20; i++) ids.Add((await (await client.PostFit(Small(i))).ReadFit()).Id);
        // Both big fits are running (their progress is being saved) when the server goes away.
        var runningBy = Stopwatch.StartNew();
        foreach (var id in ids.Take(2))
        {
            while ((await client.GetFromJsonAsync<FitResource>($"/v1/fits/{id}", TestApi.Json))! is not { Status: "running", Step: > 0 })
            {
                Assert.True(runningBy.Elapsed < TimeSpan.FromSeconds(60), $"big fit {id} never made progress:\n" + service.Output);
                await Task.Delay(50);
            }
        }

        log.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} the big fits are running; stopping PostgreSQL");
        await postgres.StopServerAsync();
        log.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} stopped");
        await Task.Delay(TimeSpan.FromSeconds(2));
        await postgres.StartServerAsync();
        var back = DateTimeOffset.UtcNow;
        log.WriteLine($"{back:HH:mm:ss.fff} started again");

        var deadline = Stopwatch.StartNew();
        foreach (var id in ids)
        {
            var fit = await WaitForEndAsync(client, id);
            while (fit.Status is "queued" or "running" && deadline.Elapsed < TimeSpan.FromSeconds(120)) fit = await WaitForEndAsync(client, id);
            Assert.True(fit.Status == "succeeded", $"fit {id} is {fit.Status} ({fit.Error}):\n{service.Output}");
            var waited = fit.FinishedAt!.Value - back;
            log.WriteLine($"{id}: started {fit.StartedAt:HH:mm:ss.fff}, ended {fit.FinishedAt:HH:mm:ss.fff}, {waited.TotalSeconds:F1} s after the restart");
            Assert.True(waited < MostAFitMayWaitAfterTheRestart, $"fit {id} ended {waited} after PostgreSQL came back:\n{service.Output}");
        }
        // No Hangfire lock row outlives the restart for long.
        await using var data = NpgsqlDataSource.Create(database);
        await using var locks = data.CreateCommand("SELECT COUNT(*) FROM hangfire.lock WHERE acquired < now() - interval '1 minute'");
        Assert.Equal(0L, await locks.ExecuteScalarAsync());
    }
}
