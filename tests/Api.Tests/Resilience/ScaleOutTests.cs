using System.Collections.Concurrent;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;
using Npgsql;

namespace FitService.Api.Tests.Resilience;

/// <summary>
/// The scale-out topology for real: one API-only process and two worker-only processes of the published service on
/// one PostgreSQL database. A worker is SIGKILLed in the middle of the work; every fit still succeeds, with exactly the
/// result of an uninterrupted run. Leases are short here (3 s) so the killed worker's fits come back quickly.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ScaleOutTests(PostgresCluster cluster)
{
    private const int Fits = 500;
    private const int BigSteps = 3_000_000;

    private static readonly string[] Tuning = ["Workers:LeaseSeconds=3", "Workers:SmallFitWork=1000000", "Workers:ChunkSize=16"];

    /// <summary>Every 50th fit is big (its own Hangfire job); the others are small (drain jobs) of a few sizes.</summary>
    private static int StepsOf(int i) => i % 50 == 0 ? BigSteps : 2000 + i % 5 * 500;

    private static int Every(int steps) => steps == BigSteps ? 1000 : 1;

    /// <summary>Big fits get many times the lesson's points, so that they still run (a few seconds) when the worker is killed.</summary>
    private static (double[] X, double[] Y) Points(int steps) => steps == BigSteps ? TestApi.TiledLesson(50) : (LessonData.X, LessonData.Y);

    private static object Request(int steps) => new
    {
        x = Points(steps).X, y = Points(steps).Y, degree = 2, loss = "mae", learningRate = 0.001, steps, historyEvery = Every(steps),
        initialParams = new[] { 1.1, 1.1, 1.1 }, optimizer = new { type = "sgd", momentum = 0.9 },
    };

    private static FitResult Expected(int steps) => Fitter.Run(new FitProblem(Points(steps).X, Points(steps).Y, 2, new LossSpec(LossKind.Mae), 0.001,
        steps, [1.1, 1.1, 1.1], new SgdSpec(Momentum: 0.9), HistoryEvery: Every(steps)));

    [PostgresFact]
    public async Task AllFitsSucceedWithCleanResultsWhenAWorkerProcessIsKilledMidway()
    {
        var database = await cluster.CreateDatabaseAsync("scaleout");
        var storage = new[] { "Storage:Provider=postgres", $"Storage:ConnectionString={database}" };
        await using var api = await ServiceProcess.StartAsync([.. storage, .. Tuning, "Workers:Count=0"]);
        await using var doomed = await ServiceProcess.StartAsync([.. storage, .. Tuning, "Api:Enabled=false", "Workers:Count=2"]);
        await using var survivor = await ServiceProcess.StartAsync([.. storage, .. Tuning, "Api:Enabled=false", "Workers:Count=2"]);

        // 8 clients submit concurrently.
        var submitted = new ConcurrentBag<(string Id, int Steps)>();
        await Parallel.ForEachAsync(Enumerable.Range(0, Fits), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var response = await api.Client.PostFit(Request(StepsOf(i)));
            Assert.True(response.IsSuccessStatusCode, $"submit {i}: {(int)response.StatusCode}\n{api.Output}");
            submitted.Add(((await response.ReadFit()).Id, StepsOf(i)));
        });

        // Kill one worker while it holds fits and others are still waiting.
        await using var db = NpgsqlDataSource.Create(database);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        // A big fit (seconds long), so it is still running when the kill lands: small ones may all end in between.
        while (await CountAsync(db, $"SELECT COUNT(*) FROM fits WHERE status = 1 AND steps = {BigSteps} AND claimed_by LIKE '%:{doomed.ProcessId}:%'") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the worker never held a big fit:\n" + doomed.Output);
            await Task.Delay(50);
        }
        await doomed.KillAsync();
        Assert.True(await CountAsync(db, "SELECT COUNT(*) FROM fits WHERE status < 2") > 0, "everything had ended before the kill");

        var expected = submitted.Select(s => s.Steps).Distinct().ToDictionary(s => s, Expected);
        foreach (var (id, steps) in submitted)
        {
            var fit = await api.Client.WaitForEnd(id, seconds: 60);
            Assert.True(fit.Status == "succeeded", $"fit {id} ({steps} steps) is {fit.Status} ({fit.Error}):\n{survivor.Output}");
            Assert.Equal(expected[steps].Params, fit.Params!);
            Assert.Equal(expected[steps].Loss, fit.Loss);
            Assert.Equal(expected[steps].History, await api.Client.WholeHistory(id));
        }
        Assert.True(await CountAsync(db, "SELECT COUNT(*) FROM fits WHERE attempt > 1") > 0, "no fit of the killed worker was run again");
        Assert.False(survivor.HasExited);
    }

    private static async Task<long> CountAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
