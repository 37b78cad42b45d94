using System.Diagnostics;
using System.Net;
using FitService.Api.Fits;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;

namespace FitService.Api.Tests.Resilience;

/// <summary>SIGTERM hands running fits back within a bound; SIGKILL in the middle of many writes leaves no torn fit.</summary>
public sealed class ShutdownAndTornWriteTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-term-").FullName;

    private string Database => $"Storage:ConnectionString=Data Source={Path.Combine(_folder, "fits.db")}";

    /// <summary>Long fits get many times the lesson's points, so that they are still running seconds later.</summary>
    private static (double[] X, double[] Y) Points(int steps) => steps >= 1_000_000 ? TestApi.TiledLesson(100) : (LessonData.X, LessonData.Y);

    private static object Request(int steps, int every, string label) => new
    {
        x = Points(steps).X, y = Points(steps).Y, degree = 2, loss = "mae", learningRate = 0.001, steps, historyEvery = every,
        initialParams = new[] { 1.1, 1.1, 1.1 }, optimizer = new { type = "sgd", momentum = 0.9 }, label,
    };

    private static FitResult Expected(int steps, int every) => Fitter.Run(new FitProblem(Points(steps).X, Points(steps).Y, 2, new LossSpec(LossKind.Mae), 0.001,
        steps, [1.1, 1.1, 1.1], new SgdSpec(Momentum: 0.9), HistoryEvery: every));

    [Fact]
    public async Task SigtermHandsARunningFitBackWithinTheShutdownBoundAndItFinishesAfterRestart()
    {
        const int steps = 3_000_000, every = 1000;
        string id;
        await using (var first = await ServiceProcess.StartAsync(Database, "Workers:Count=1"))
        {
            id = (await (await first.Client.PostFit(Request(steps, every, "long"))).ReadFit()).Id;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await first.Client.GetFromJsonAsync<FitResource>($"/v1/fits/{id}", TestApi.Json))!.Step == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "no progress:\n" + first.Output);
                await Task.Delay(50);
            }
            var watch = Stopwatch.StartNew();
            await first.TerminateAsync(TimeSpan.FromSeconds(30));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"shutdown took {watch.Elapsed}:\n{first.Output}");
            Assert.Contains("interrupted by shutdown", first.Output);
        }

        await using var second = await ServiceProcess.StartAsync(Database, "Workers:Count=1");
        var fit = await second.Client.WaitForEnd(id, seconds: 60);
        var expected = Expected(steps, every);
        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(expected.Params, fit.Params!);
        Assert.Equal(expected.History, await second.Client.WholeHistory(id));
    }

    [Fact]
    public async Task SigkillDuringManyWritesLeavesNoTornFit()
    {
        var accepted = new Dictionary<string, (int Steps, int Every)>();
        var random = new Random(42);
        for (var round = 0; round < 3; round++)
        {
            await using var service = await ServiceProcess.StartAsync(Database, "Workers:Count=2");
            using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500 + random.Next(1500)));
            var submitters = Enumerable.Range(0, 4).Select(async s =>
            {
                for (var i = 0; i < 15 && !stop.IsCancellationRequested; i++)
                {
                    var (steps, every) = (i % 3) switch { 0 => (50_000, 1), 1 => (2_000, 1), _ => (300_000, 100) };
                    try
                    {
                        var response = await service.Client.PostFit(Request(steps, every, $"r{round}-s{s}-{i}"));
                        if (response.StatusCode != HttpStatusCode.Accepted) continue;
                        var id = (await response.ReadFit()).Id;
                        lock (accepted) accepted[id] = (steps, every);
                    }
                    catch (HttpRequestException) { return; }
                    catch (TaskCanceledException) { return; }
                }
            }).ToList();
            await Task.Delay(TimeSpan.FromMilliseconds(1000 + random.Next(1000)));
            await service.KillAsync(); // in the middle of submissions and progress saves
            await Task.WhenAll(submitters);
        }

        // As the kills left them (no workers): every fit is whole and self-consistent.
        await using (var inspect = await ServiceProcess.StartAsync(Database, "Workers:Count=0"))
        {
            foreach (var (id, (steps, every)) in accepted)
            {
                var fit = (await inspect.Client.GetFromJsonAsync<FitResource>($"/v1/fits/{id}", TestApi.Json))!;
                Assert.Equal(steps, fit.Steps);
                Assert.Equal((fit.Step + every - 1) / every, fit.HistoryTotal);
                if (fit.Step > 0) Assert.Equal(3, fit.Params!.Length);
                if (fit.Status == "succeeded") Assert.Equal(steps, fit.Step);
                Assert.True(fit.Status is "queued" or "running" or "succeeded", $"{id}: {fit.Status} {fit.Error}");
            }
        }

        // And every accepted fit ends with the result of an uninterrupted run.
        await using var final = await ServiceProcess.StartAsync(Database, "Workers:Count=2");
        var expected = accepted.Values.Distinct().ToDictionary(v => v, v => Expected(v.Steps, v.Every));
        foreach (var (id, shape) in accepted)
        {
            var fit = await final.Client.WaitForEnd(id, seconds: 60);
            Assert.True(fit.Status == "succeeded", $"{id}: {fit.Status}\n{final.Output}");
            Assert.Equal(expected[shape].Params, fit.Params!);
            Assert.Equal(expected[shape].History.Length, fit.HistoryTotal);
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
