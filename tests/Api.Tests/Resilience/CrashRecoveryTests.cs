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
    public async Task AFitRunningOnTheRequestThatWaitsForItFinishesAfterASigkillWithTheResultOfACleanRun()
    {
        // Seconds of work (so it is still running when killed), less than the first test's: the test computes it again.
        const int longSteps = 2_000_000;
        string id;
        // Every fit runs on its waiting request here, however long.
        await using (var first = await ServiceProcess.StartAsync(Database, "Workers:Count=1", "Workers:InlineFitWork=1e15"))
        {
            var waiting = first.Client.PostFit(Request(longSteps, "inline"), ("Prefer", "wait=60"));
            var deadline = DateTime.UtcNow.AddSeconds(30);
            FitResource? running = null;
            while (running is not { Step: > 0 })
            {
                Assert.True(DateTime.UtcNow < deadline, "the fit never showed progress:\n" + first.Output);
                await Task.Delay(50);
                running = (await first.Client.GetFromJsonAsync<FitList>("/v1/fits", TestApi.Json))!.Items.SingleOrDefault();
            }
            id = running.Id;
            await first.KillAsync();
            // The client never heard back: the fit was stored before it ran, so the restart owes it a result all the same.
            await Assert.ThrowsAnyAsync<Exception>(() => waiting);
        }

        await using var second = await ServiceProcess.StartAsync(Database, "Workers:Count=2");
        var fit = await second.Client.WaitForEnd(id, seconds: 60);
        var expected = Expected(longSteps);
        Assert.True(fit.Status == "succeeded", $"fit {id} is {fit.Status}:\n{second.Output}");
        Assert.Equal(expected.Params, fit.Params!);
        Assert.Equal(expected.Loss, fit.Loss);
        Assert.Equal(expected.History, await second.Client.WholeHistory(id));
        Assert.Contains("Recovered 1 unfinished fits", second.Output);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
