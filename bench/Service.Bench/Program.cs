extern alias service;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using FitService.Engine;
using Hangfire;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

// The service's own speed, side by side in one run on one machine: submit-to-finished latency of the lesson fit
// with Prefer: wait, sustained small fits per second (8 clients, one fit per request, and as one batch), and, on
// the same Hangfire storage in the same process, the rate of no-op Hangfire jobs that bounds any one-job-per-fit design.
//
//   dotnet run -c Release --project bench/Service.Bench [-- --fits 10000 --clients 8 --latency 1000 --warm-up 5000]
//   dotnet run -c Release --project bench/Service.Bench -- --only batch [--rounds 3 --warm-up 20000]
//   dotnet run -c Release --project bench/Service.Bench -- --only post [--rounds 3 --warm-up 5000 --plain]
//   dotnet run -c Release --project bench/Service.Bench -- --only store [--rounds 5 --fits 10000 --chunk 64]

var fits = Arg("--fits", 10_000);
var clients = Arg("--clients", 8);
var latencyRuns = Arg("--latency", 1_000);
var warmUpFits = Arg("--warm-up", 5_000);
// `--only store`: the SQLite store's own work per batched fit (StoreBench), no service around it.
if (Array.IndexOf(args, "--only") is var onlyStore && onlyStore >= 0 && onlyStore + 1 < args.Length && args[onlyStore + 1] == "store")
{
    await StoreBench.RunAsync(fits, Arg("--rounds", 5), Arg("--chunk", 64));
    return;
}
var folder = Directory.CreateTempSubdirectory("fitservice-bench-").FullName;
var port = FreePort();
// The service's content root (where relative data paths resolve) is the temporary folder.
Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_FITSERVICE_API", folder);
using var factory = new WebApplicationFactory<service::Program>().WithWebHostBuilder(b =>
{
    // The factory's default is Development (the developer exception page and its middleware on every request): measure
    // the service as it is deployed.
    b.UseEnvironment("Production");
    b.UseSetting("Storage:ConnectionString", $"Data Source={Path.Combine(folder, "fits.db")}");
    b.UseSetting("urls", $"http://127.0.0.1:{port}");
    b.UseSetting("Log:Format", "json");
    b.UseSetting("Serilog:MinimumLevel:Default", "Warning");
    // The per-tenant rate limit (Limits:RequestsPerSecond: off by default in the local mode, 1,000 with API keys) would
    // measure itself, not the service.
    b.UseSetting("Limits:RequestsPerSecond", "0");
});
factory.UseKestrel();
factory.StartServer();
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(5) };
var workers = factory.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<service::FitService.Api.WorkersOptions>>().Value.Count;

var lesson = new
{
    x = LessonData.X, y = LessonData.Y, degree = 2, loss = "mae", learningRate = 0.01, steps = 100,
    initialParams = LessonData.InitialParams,
};

// `--only batch`: the batch phase alone (goal 1), warmed up with batches only, measured `--rounds` times (3 by default),
// so that a profiler attached to this process sees little but batches.
if (Array.IndexOf(args, "--only") is var only && only >= 0 && only + 1 < args.Length)
{
    if (args[only + 1] == "post")
    {
        await OnlyPosts(Arg("--rounds", 3));
        return;
    }
    if (args[only + 1] != "batch") throw new ArgumentException($"--only takes 'batch' or 'post', not '{args[only + 1]}'");
    var rounds = Arg("--rounds", 3);
    var warmUpBatch = Stopwatch.StartNew();
    for (var done = 0; done < warmUpFits; done += fits) await RunBatch(Math.Min(fits, warmUpFits - done), CancellationToken.None);
    Console.Error.WriteLine($"warm-up: {warmUpFits:N0} fits as batches in {warmUpBatch.Elapsed.TotalSeconds:F1} s (pid {Environment.ProcessId})");
    Console.WriteLine($"FitService batch benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {workers} Hangfire workers, SQLite + Hangfire.InMemory, after {warmUpFits:N0} warm-up fits");
    Console.WriteLine();
    Console.WriteLine("| round | fits | fits/s | µs CPU per fit | load average (1, 5, 15 min) |");
    Console.WriteLine("|---|---|---|---|---|");
    for (var round = 1; round <= rounds; round++)
    {
        var (rate, cpu) = await Throughput(ct => RunBatch(fits, ct));
        Console.WriteLine($"| {round} | {fits:N0} | {rate:N0} | {cpu:N0} | {LoadAverage()} |");
    }
    factory.Dispose();
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(folder, recursive: true);
    return;
}

// Warm-up: every path the measures take, until tiered compilation has settled (a service runs for hours; its first
// seconds spend a third of a core in the JIT), plus the connection pool and SQLite's pages.
var warmUp = Stopwatch.StartNew();
await Parallel.ForAsync(0, warmUpFits, new ParallelOptions { MaxDegreeOfParallelism = clients }, async (_, ct) => await SubmitAndWait(ct));
await RunBatch(warmUpFits, CancellationToken.None);
Console.Error.WriteLine($"warm-up: {warmUpFits} fits one by one and as a batch in {warmUp.Elapsed.TotalSeconds:F1} s");

// 1. Latency: one client, one lesson fit at a time, submit → 201 with the finished fit.
var latencies = new List<double>(latencyRuns);
for (var i = 0; i < latencyRuns; i++)
{
    var t = Stopwatch.GetTimestamp();
    await SubmitAndWait(CancellationToken.None);
    latencies.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
}

// 2. Throughput, one fit per request: 8 clients submit, then wait for every fit to end.
var (perRequest, perRequestCpu) = await Throughput(async ct =>
{
    var ids = new string[fits];
    var submitted = Stopwatch.GetTimestamp();
    await Parallel.ForAsync(0, fits, new ParallelOptions { MaxDegreeOfParallelism = clients, CancellationToken = ct }, async (i, c) =>
    {
        var response = await http.PostAsJsonAsync("/v1/fits", lesson, c);
        response.EnsureSuccessStatusCode();
        ids[i] = (await response.Content.ReadFromJsonAsync<JsonElement>(c)).GetProperty("id").GetString()!;
    });
    Console.Error.WriteLine($"one POST per fit: all {fits} submitted after {Stopwatch.GetElapsedTime(submitted).TotalSeconds:F1} s");
    await Parallel.ForAsync(0, fits, new ParallelOptions { MaxDegreeOfParallelism = clients, CancellationToken = ct }, async (i, c) =>
    {
        var wait = new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{ids[i]}");
        wait.Headers.TryAddWithoutValidation("Prefer", "wait=60");
        var answer = await http.SendAsync(wait, c);
        answer.EnsureSuccessStatusCode();
        var fit = await answer.Content.ReadFromJsonAsync<JsonElement>(c);
        if (fit.GetProperty("status").GetString() != "succeeded") throw new InvalidOperationException($"fit {ids[i]} did not succeed");
    });
});

// 2b. Submit-and-wait: 8 clients, each POST with Prefer: wait answered with the finished fit.
var (waited, waitedCpu) = await Throughput(async ct =>
    await Parallel.ForAsync(0, fits, new ParallelOptions { MaxDegreeOfParallelism = clients, CancellationToken = ct }, async (_, c) => await SubmitAndWait(c)));

// 3. Throughput as one batch: one request holding every fit; small fits share Hangfire jobs.
var (asBatch, asBatchCpu) = await Throughput(ct => RunBatch(fits, ct));

// 4. Hangfire's own ceiling on the same storage and workers: no-op jobs enqueued from 8 threads until all ran.
var jobs = factory.Services.GetRequiredService<IBackgroundJobClient>();
NoopJob.Reset(fits);
var (noop, noopCpu) = await Throughput(async _ =>
{
    await Parallel.ForAsync(0, fits, new ParallelOptions { MaxDegreeOfParallelism = clients }, (_, _) =>
    {
        jobs.Enqueue<NoopJob>("fits", j => j.Run());
        return ValueTask.CompletedTask;
    });
    await NoopJob.AllDone.Task;
});

latencies.Sort();
Console.WriteLine($"FitService service benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {workers} Hangfire workers, SQLite + Hangfire.InMemory, {clients} clients over loopback HTTP, rate limit off, after {warmUpFits:N0} warm-up fits, load average {LoadAverage()} (1, 5, 15 min)");
Console.WriteLine();
Console.WriteLine("| measure | result | goal |");
Console.WriteLine("|---|---|---|");
Console.WriteLine($"| lesson fit (20 points, 100 steps) submit → finished with `Prefer: wait`, {latencyRuns} runs, p50 / p95 / p99 | {Pct(50):F2} / {Pct(95):F2} / {Pct(99):F2} ms | p50 ≤ 1 ms |");
Console.WriteLine($"| {fits:N0} lesson fits, one POST each, {clients} clients, until all ended | {perRequest:N0} fits/s ({perRequestCpu:N0} µs CPU per fit) | ≥ 1,000 fits/s |");
Console.WriteLine($"| {fits:N0} lesson fits, {clients} clients each POST with `Prefer: wait` (201 with the finished fit) | {waited:N0} fits/s ({waitedCpu:N0} µs CPU per fit) | ≥ 3,000 fits/s |");
Console.WriteLine($"| {fits:N0} lesson fits as one batch, until all ended | {asBatch:N0} fits/s ({asBatchCpu:N0} µs CPU per fit) | ≥ 15,000 fits/s |");
Console.WriteLine($"| {fits:N0} no-op Hangfire jobs on the same storage and workers | {noop:N0} jobs/s ({noopCpu:N0} µs CPU per job) | |");
Console.WriteLine($"| one-POST-per-fit rate ÷ no-op job rate | {perRequest / noop:P0} | overhead beyond Hangfire's small |");
Console.WriteLine($"| batch rate ÷ no-op job rate | {asBatch / noop:P0} | |");

factory.Dispose();
Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
Directory.Delete(folder, recursive: true);
return;

// `--only post`: one POST per fit (8 clients, 202, the fit run by a worker) against the same fits each POSTed with
// `Prefer: wait` (201, run on the request), alternating, `--rounds` times each, after a warm-up of both; the end of the
// plain POSTs' fits is awaited in the store (no GET per fit), so the CPU per fit is the POST's and the worker's only.
// A profiler attached after "warm-up:" sees little else (`--plain`: measure the plain POSTs only).
async Task OnlyPosts(int rounds)
{
    var store = factory.Services.GetRequiredService<service::FitService.Api.Storage.IFitStore>();
    var warmUpPosts = Stopwatch.StartNew();
    await PlainPosts(warmUpFits, CancellationToken.None);
    await Parallel.ForAsync(0, warmUpFits, new ParallelOptions { MaxDegreeOfParallelism = clients }, async (_, ct) => await SubmitAndWait(ct));
    Console.Error.WriteLine($"warm-up: {warmUpFits:N0} fits one POST each, then as many with Prefer: wait, in {warmUpPosts.Elapsed.TotalSeconds:F1} s (pid {Environment.ProcessId})");
    Console.WriteLine($"FitService one-POST benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {workers} Hangfire workers, SQLite + Hangfire.InMemory, {clients} clients, after {warmUpFits:N0} warm-up fits of each kind");
    Console.WriteLine();
    Console.WriteLine("| round | kind | fits/s | µs CPU per fit (all) | of which until the last POST answered | load average (1, 5, 15 min) |");
    Console.WriteLine("|---|---|---|---|---|---|");
    for (var round = 1; round <= rounds; round++)
    {
        var cpuAtLastAnswer = TimeSpan.Zero;
        var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
        var (rate, cpu) = await Throughput(async ct =>
        {
            await PlainPosts(fits, ct, () => cpuAtLastAnswer = Process.GetCurrentProcess().TotalProcessorTime);
        });
        Console.WriteLine($"| {round} | 202, run by a worker | {rate:N0} | {cpu:N0} | {(cpuAtLastAnswer - cpuAtStart).TotalMicroseconds / fits:N0} | {LoadAverage()} |");
        if (Array.IndexOf(args, "--plain") >= 0) continue;
        var (waitedRate, waitedCpu) = await Throughput(async ct =>
            await Parallel.ForAsync(0, fits, new ParallelOptions { MaxDegreeOfParallelism = clients, CancellationToken = ct }, async (_, c) => await SubmitAndWait(c)));
        Console.WriteLine($"| {round} | `Prefer: wait`, 201 | {waitedRate:N0} | {waitedCpu:N0} | {waitedCpu:N0} | {LoadAverage()} |");
    }
    factory.Dispose();
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(folder, recursive: true);

    async Task PlainPosts(int count, CancellationToken ct, Action? answered = null)
    {
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = clients, CancellationToken = ct }, async (_, c) =>
        {
            using var response = await http.PostAsJsonAsync("/v1/fits", lesson, c);
            if (response.StatusCode != HttpStatusCode.Accepted) throw new InvalidOperationException($"expected 202, got {(int)response.StatusCode}");
        });
        answered?.Invoke();
        while ((await store.ListUnfinishedAsync(ct)).Count > 0) await Task.Delay(20, ct);
    }
}

double Pct(int p) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p / 100.0 * latencies.Count) - 1)];

async Task SubmitAndWait(CancellationToken ct)
{
    var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fits") { Content = JsonContent.Create(lesson) };
    request.Headers.TryAddWithoutValidation("Prefer", "wait=10");
    var response = await http.SendAsync(request, ct);
    if (response.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"expected 201, got {(int)response.StatusCode}");
}

async Task RunBatch(int count, CancellationToken ct)
{
    var posted = Stopwatch.GetTimestamp();
    var response = await http.PostAsJsonAsync("/v1/batches", new { defaults = lesson, fits = Enumerable.Range(0, count).Select(_ => new { }).ToArray() }, ct);
    response.EnsureSuccessStatusCode();
    Console.Error.WriteLine($"batch POST took {Stopwatch.GetElapsedTime(posted).TotalMilliseconds:F0} ms");
    var id = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString();
    while (true)
    {
        var wait = new HttpRequestMessage(HttpMethod.Get, $"/v1/batches/{id}");
        wait.Headers.TryAddWithoutValidation("Prefer", "wait=60");
        var batch = await (await http.SendAsync(wait, ct)).Content.ReadFromJsonAsync<JsonElement>(ct);
        if (batch.GetProperty("status").GetString() == "completed") break;
    }
}

// The CPU time this process (service and clients) spent per fit rides along: on a machine shared with other work the
// rate tracks the load, the CPU per fit much less.
async Task<(double PerSecond, double CpuMicroseconds)> Throughput(Func<CancellationToken, Task> run)
{
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var t = Stopwatch.GetTimestamp();
    await run(CancellationToken.None);
    var elapsed = Stopwatch.GetElapsedTime(t);
    return (fits / elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / fits);
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

/// <summary>A Hangfire job that does nothing but count itself.</summary>
public sealed class NoopJob
{
    private static int _remaining;
    public static TaskCompletionSource AllDone { get; private set; } = new();

    public static void Reset(int count)
    {
        _remaining = count;
        AllDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Run()
    {
        if (Interlocked.Decrement(ref _remaining) == 0) AllDone.TrySetResult();
    }
}
