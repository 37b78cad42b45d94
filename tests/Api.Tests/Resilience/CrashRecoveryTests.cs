using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.Resilience;

/// <summary>Nothing accepted is ever lost: a SIGKILL in the middle of a fit, with more queued, costs no fit and changes no result.</summary>
public sealed class CrashRecoveryTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-crash-").FullName;

    private string Database => $"Storage:ConnectionString=Data Source={Path.Combine(_folder, "fits.db")}";

    private static int Every(int steps) => steps > 100_000 ? 1000 : 1;

    /// <summary>The long fit gets many times the lesson's points, so that it is still running when the process is killed.</summary>
    private static (double[] X, double[] Y) Points(int steps) => steps > 100_000 ? TestApi.TiledLesson(50) : (LessonData.X, LessonData.Y);

    private static object Request(int steps, string label) => new
    {
        x = Points(steps).X,
        y = Points(steps).Y,
        degree = 2,
        loss = "mae",
        learningRate = 0.001,
        steps,
        historyEvery = Every(steps),
        initialParams = new[] { 1.1, 1.1, 1.1 },
        optimizer = new { type = "sgd", momentum = 0.9 },
        label,
    };

    private static FitResult Expected(int steps) => Fitter.Run(new FitProblem(Points(steps).X, Points(steps).Y, 2, new LossSpec(LossKind.Mae), 0.001,
        steps, [1.1, 1.1, 1.1], new SgdSpec(Momentum: 0.9), HistoryEvery: Every(steps)));

    [Fact]
    public async Task EveryAcceptedFitFinishesAfterASigkillWithTheResultOfACleanRun()
    {
        const int longSteps = 5_000_000, shortSteps = 5_000;
        var ids = new List<(string Id, int Steps)>();
        await using (var first = await ServiceProcess.StartAsync(Database, "Workers:Count=1"))
        {
            var longFit = await (await first.Client.PostFit(Request(longSteps, "long"))).ReadFit();
            ids.Add((longFit.Id, longSteps));
            for (var i = 0; i < 5; i++) ids.Add(((await (await first.Client.PostFit(Request(shortSteps, $"queued-{i}"))).ReadFit()).Id, shortSteps));

            // Kill only once the long fit has saved progress, so the restart must discard a partial run.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await first.Client.GetFromJsonAsync<FitResource>($"/v1/fits/{longFit.Id}", TestApi.Json))!.Step == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the long fit never showed progress:\n" + first.Output);
                await Task.Delay(50);
            }
            await first.KillAsync();
        }

        await using var second = await ServiceProcess.StartAsync(Database, "Workers:Count=2");
        var expectedLong = Expected(longSteps);
        var expectedShort = Expected(shortSteps);
        foreach (var (id, steps) in ids)
        {
            var fit = await second.Client.WaitForEnd(id, seconds: 60);
            var expected = steps == longSteps ? expectedLong : expectedShort;
            Assert.True(fit.Status == "succeeded", $"fit {id} is {fit.Status}:\n{second.Output}");
            Assert.Equal(expected.Params, fit.Params!);
            Assert.Equal(expected.Loss, fit.Loss);
            Assert.Equal(expected.History, await second.Client.WholeHistory(id));
        }
        Assert.Contains("Recovered 6 unfinished fits", second.Output);
    }

    [Fact]
    public async Task AFitKilledWhileItRunsOnItsRequestLeavesNothingStoredAndWasNeverAnswered()
    {
        // Seconds of work (so it is still running when killed); every fit runs on its waiting request here, however long.
        await using (var first = await ServiceProcess.StartAsync(Database, "Workers:Count=1", "Workers:InlineFitWork=1e15"))
        {
            var waiting = first.Client.PostFit(Request(2_000_000, "inline"), ("Prefer", "wait=60"));
            // A fit that runs on its request is stored only once ended: the engine's gauge is all that shows it running.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!System.Text.RegularExpressions.Regex.IsMatch(await first.Client.GetStringAsync("/metrics"), @"(?m)^fits_running\{[^}]*\} 1$"))
            {
                Assert.True(DateTime.UtcNow < deadline, "the fit never ran:\n" + first.Output);
                await Task.Delay(50);
            }
            Assert.Empty((await first.Client.GetFromJsonAsync<FitList>("/v1/fits", TestApi.Json))!.Items);
            await first.KillAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => waiting);
        }

        // The client never heard of the fit, and no half of it is left: nothing to recover, nothing to list.
        await using var second = await ServiceProcess.StartAsync(Database, "Workers:Count=1");
        Assert.Empty((await second.Client.GetFromJsonAsync<FitList>("/v1/fits", TestApi.Json))!.Items);
        Assert.DoesNotContain("Recovered", second.Output);
    }

    [Fact]
    public async Task ASigkillAmidFitsRunOnTheirRequestsLeavesEveryStoredFitWholeAndEveryAnsweredOneStored()
    {
        const int steps = 300;
        var answered = new System.Collections.Concurrent.ConcurrentBag<string>();
        await using (var first = await ServiceProcess.StartAsync(Database, "Workers:Count=1"))
        {
            using var stop = new CancellationTokenSource();
            async Task SubmitAsync(int client)
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        var response = await first.Client.PostFit(Request(steps, $"c{client}-{i}"), ("Prefer", "wait=60"));
                        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
                        answered.Add((await response.ReadFit()).Id);
                    }
                    catch (Exception e) when (e is HttpRequestException or IOException)
                    {
                        return; // the kill
                    }
                }
            }
            var clients = Enumerable.Range(0, 4).Select(c => Task.Run(() => SubmitAsync(c))).ToArray();
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (answered.Count < 40)
            {
                Assert.True(DateTime.UtcNow < deadline, $"only {answered.Count} fits answered:\n" + first.Output);
                await Task.Delay(20);
            }
            // Killed while the clients keep submitting: some fits are mid-run or mid-commit.
            await first.KillAsync();
            stop.Cancel();
            await Task.WhenAll(clients);
        }

        await using var second = await ServiceProcess.StartAsync(Database, "Workers:Count=1");
        var stored = (await second.Client.GetFromJsonAsync<FitList>("/v1/fits?limit=500", TestApi.Json))!.Items;
        Assert.Subset(stored.Select(f => f.Id).ToHashSet(), answered.ToHashSet());
        var expected = Expected(steps);
        foreach (var fit in stored)
        {
            // A fit that found no free inline slot was stored queued and is run by the restart; every other one ended stored.
            var whole = await second.Client.WaitForEnd(fit.Id, seconds: 60);
            Assert.True(whole.Status == "succeeded", $"fit {fit.Id} is {whole.Status}");
            Assert.Equal(expected.Params, whole.Params!);
            Assert.Equal(expected.Loss, whole.Loss);
            Assert.Equal(expected.History, await second.Client.WholeHistory(fit.Id));
        }
    }

    [Fact]
    public async Task ABatchKilledWhileItsFitsAreStoredIsNeverAcceptedInPartAndItsFitsAreGoneAfterTheRestart()
    {
        // A batch this big is stored in slices whose fits start at once; the batch is accepted with its last slice.
        var batch = new { defaults = Request(100, "sliced"), fits = Enumerable.Range(0, 10_000).Select(_ => new { }).ToArray() };
        var file = Path.Combine(_folder, "fits.db");
        var killedMidStore = false;
        var answered = 0;
        await using (var first = await ServiceProcess.StartAsync(Database, "Workers:Count=1"))
        {
            // The first batch whose storing is seen under way (its marker in the file) is killed there; each earlier one
            // that was answered before it could be seen is left to run.
            for (var attempt = 0; attempt < 10 && !killedMidStore; attempt++)
            {
                var posting = first.Client.PostAsJsonAsync("/v1/batches", batch, TestApi.Json);
                while (!posting.IsCompleted && !killedMidStore)
                {
                    if (await CountAsync(file, "batches_storing") > 0)
                    {
                        await first.KillAsync();
                        killedMidStore = true;
                    }
                }
                try
                {
                    if ((await posting).StatusCode == System.Net.HttpStatusCode.Accepted) answered++;
                }
                catch (Exception e) when (killedMidStore && e is HttpRequestException or IOException or TaskCanceledException)
                {
                    // The kill: never answered.
                }
            }
        }
        Assert.True(killedMidStore, "no batch was ever seen while its fits were stored");

        // The restart drops whatever of the batch never answered was committed (run or not) before it recovers anything:
        // every fit left belongs to a whole batch, and every batch answered 202 is there.
        await using var second = await ServiceProcess.StartAsync(Database, "Workers:Count=2");
        Assert.Equal(0, await CountAsync(file, "batches_storing"));
        var batches = await CountAsync(file, "batches");
        Assert.True(batches >= answered, $"{answered} batches answered, {batches} stored");
        Assert.Equal(10_000 * batches, await CountAsync(file, "fits"));
    }

    /// <summary>Rows in a table of the service's file, read beside the service as any SQLite reader may.</summary>
    private static async Task<long> CountAsync(string file, string table)
    {
        if (!File.Exists(file)) return 0;
        await using var conn = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM sqlite_master WHERE name = '{table}'";
        if (Convert.ToInt64(await cmd.ExecuteScalarAsync()) == 0) return 0;
        cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
