extern alias service;
using System.Diagnostics;
using FitService.Engine;
using service::FitService.Api.Storage;

/// <summary>
/// `--only store`: the embedded store's own work for one batch of lesson fits, phase by phase, in one thread and without
/// HTTP, Hangfire or the engine: the batch stored in slices, then chunks of fits (`--chunk`, 64 as the queue makes them) started and ended as
/// <c>FitJob.RunChunkAsync</c> does. SQLite's one writer does all of this in turn, so it bounds the batch's rate on any
/// number of cores; µs of CPU per fit, per phase, on a machine shared with other work.
/// </summary>
internal static class StoreBench
{
    public static async Task RunAsync(int fits, int rounds, int chunk)
    {
        var folder = Directory.CreateTempSubdirectory("fitservice-storebench-").FullName;
        try
        {
            await using var store = new SqliteFitStore($"Data Source={Path.Combine(folder, "fits.db")}", folder);
            await store.InitializeAsync(CancellationToken.None);
            Console.WriteLine($"FitService store benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, SQLite schema, one batch of {fits:N0} lesson fits a round, chunks of {chunk}");
            Console.WriteLine();
            Console.WriteLine("| round | store µs/fit | start µs/fit | end µs/fit | total µs/fit | load average (1, 5, 15 min) |");
            Console.WriteLine("|---|---|---|---|---|---|");
            // Round 0 warms the JIT up and is not printed.
            for (var round = 0; round <= rounds; round++)
            {
                var (store1, start, end) = await RoundAsync(store, fits, chunk);
                if (round == 0) continue;
                Console.WriteLine($"| {round} | {store1:F1} | {start:F1} | {end:F1} | {store1 + start + end:F1} | {LoadAverage()} |");
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<(double Store, double Start, double End)> RoundAsync(SqliteFitStore store, int count, int chunk)
    {
        var now = DateTimeOffset.UtcNow;
        var batch = new NewBatch(NewId(), "bench", now, null, """{"defaults":{"degree":2,"loss":"mae","learningRate":0.01,"steps":100},"fits":[]}""");
        // The stored spec of the lesson as the service writes it (the points are stored apart).
        const string spec = """{"v":1,"degree":2,"loss":"mae","learningRate":0.01,"steps":100,"optimizer":"gd","initialParams":[0,0,0],"historyEvery":1}""";
        var all = Enumerable.Range(0, count).Select(_ => new NewFit(NewId(), "bench", now, spec, LessonData.X, LessonData.Y, 100, 1, null, null,
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", batch.Id)).ToArray();
        var history = Enumerable.Range(0, 100).Select(i => 1.0 / (i + 1)).ToArray();
        var outcome = "{\"statistics\":{\"r2\":0.98765432109876,\"rmse\":0.12345678901234,\"mae\":0.0987654321098765},\"optimum\":{\"params\":[1.2345678901234,2.3456789012345,3.4567890123456],\"loss\":0.0876543210987654,\"method\":\"exact\"},\"gap\":0.00123456789}";

        var cpu = Cpu();
        await store.CreateBatchAsync(batch, all, _ => { }, CancellationToken.None);
        var stored = Cpu() - cpu;

        TimeSpan started = TimeSpan.Zero, ended = TimeSpan.Zero;
        for (var from = 0; from < count; from += chunk)
        {
            var ids = all.Skip(from).Take(chunk).Select(f => f.Id).ToArray();
            cpu = Cpu();
            var starts = await store.TryStartManyAsync(ids, DateTimeOffset.UtcNow, CancellationToken.None);
            started += Cpu() - cpu;
            if (starts.Any(s => s.Points is null)) throw new InvalidOperationException("a fit did not start");
            var completions = ids.Select(id => (id, new FitCompletion(FitStatus.Succeeded, "steps", 100, [1.1, 2.2, 3.3], 0.125, history, null,
                DateTimeOffset.UtcNow, outcome))).ToArray();
            cpu = Cpu();
            var done = await store.CompleteManyAsync(completions, CancellationToken.None);
            ended += Cpu() - cpu;
            if (done.Count != ids.Length) throw new InvalidOperationException("a fit did not end");
        }
        return (stored.TotalMicroseconds / count, started.TotalMicroseconds / count, ended.TotalMicroseconds / count);
    }

    private static string NewId() => Guid.CreateVersion7().ToString("N");

    private static TimeSpan Cpu() => Process.GetCurrentProcess().TotalProcessorTime;

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
