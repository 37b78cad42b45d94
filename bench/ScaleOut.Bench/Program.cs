// Side-by-side throughput of the scale-out topology (driven by bench/scaleout.sh, which starts PostgreSQL, one API-only
// and two worker-only processes):
//   a) Hangfire.PostgreSql's own rate: no-op jobs enqueued here, run by the worker processes;
//   b) small fits end to end: submitted over HTTP by concurrent clients to the API processes, until all have ended;
//   b0) the same through the baseline API processes (BASELINE_APIS: single-fit inserts), and the ratio b/b0;
//   c) the same in batches (BATCH_SIZE fits each, default 1,000); d) fit end -> webhook arrival at a receiver in this process; e) fit end -> answer of
//   `Prefer: wait` from the API process while a worker process runs the fit.
// Usage: FitService.Bench <connection string> <api url[,api url…]> [no-op jobs] [fits] [clients] [webhook and wait fits]
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

var connectionString = args[0];
// Clients take the API processes in turn.
var apis = args[1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(u => new HttpClient { BaseAddress = new Uri(u) }).ToArray();
var baselineApis = (Environment.GetEnvironmentVariable("BASELINE_APIS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)
    .Select(u => new HttpClient { BaseAddress = new Uri(u) }).ToArray();
var noops = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2000;
var fits = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 10_000;
var clients = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 8;
var latencyFits = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 500;
await using var db = NpgsqlDataSource.Create(connectionString);
// BENCH_PHASES: "b" runs only b, "ab" a and b; anything else (default "abcde") runs all.
var phases = Environment.GetEnvironmentVariable("BENCH_PHASES") ?? "abcde";

// a) Hangfire no-op jobs: GC.KeepAlive(null) is a static method every worker can load, and does nothing.
var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, new PostgreSqlStorageOptions()), new PostgreSqlStorageOptions());
var jobs = new BackgroundJobClient(storage);
var monitor = storage.GetMonitoringApi();
var succeededBefore = monitor.SucceededListCount();
var clock = Stopwatch.StartNew();
if (!phases.Contains('a')) noops = 0;
await Parallel.ForEachAsync(Enumerable.Range(0, noops), new ParallelOptions { MaxDegreeOfParallelism = clients },
    (_, _) => { jobs.Enqueue("default", () => GC.KeepAlive(null)); return ValueTask.CompletedTask; });
var enqueued = clock.Elapsed;
while (monitor.SucceededListCount() - succeededBefore < noops) await Task.Delay(20);
var noopSeconds = clock.Elapsed.TotalSeconds;
var noopLatency = Percentiles(monitor.SucceededJobs(0, noops).Select(j => (double)(j.Value.TotalDuration ?? 0)).ToList());
if (noops > 0) Console.WriteLine($"a) Hangfire no-op jobs: {noops} in {noopSeconds:F2} s = {noops / noopSeconds:F0} jobs/s " +
                  $"(enqueued in {enqueued.TotalSeconds:F2} s); created -> succeeded p50 {noopLatency.P50:F0} ms, p95 {noopLatency.P95:F0} ms (backlog included); {LoadAverage()}");

// b) Small fits end to end: the lesson's 20 points, degree 2, 100 steps.
var x = Enumerable.Range(0, 20).Select(i => -2 + i * 4.0 / 19).ToArray();
var request = new
{
    x, y = x.Select(v => 3 * v * v + 2 * v + 1).ToArray(), degree = 2, loss = "mse", learningRate = 0.01, steps = 100,
};
var requestBody = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(request, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web));
var http = apis[0];
if (phases.Contains('b'))
{
    // B_WARM_UP=N (default 10,000; 0 for none): N fits one POST each first, through the same processes, not measured.
    // Tiered compilation settles (a service runs for hours): on 2 cores after 3,000 fits b measured 1,000-1,500 fits/s,
    // after 10,000 and 20,000 1,600-2,150 (docs/throughput.md, goal 3 on 2026-12-03).
    var warmUpFits = int.Parse(Environment.GetEnvironmentVariable("B_WARM_UP") ?? "10000", CultureInfo.InvariantCulture);
    if (warmUpFits > 0) await OnePostEachAsync($"b) warm-up, not measured", apis.Concat(baselineApis).ToArray(), warmUpFits);
    var (fitRate, submitRate) = await OnePostEachAsync("b) small fits end to end", apis);
    if (noops > 0) Console.WriteLine($"   ratio b/a = {fitRate / (noops / noopSeconds):F1}x");
    if (baselineApis.Length > 0)
    {
        var (baseRate, baseSubmitRate) = await OnePostEachAsync("b0) the same, single-fit inserts (Storage:GroupInserts=false)", baselineApis);
        Console.WriteLine($"   ratio b/b0 = {fitRate / baseRate:F2}x end to end, {submitRate / baseSubmitRate:F2}x submitted");
    }
}

if (phases.Contains('c'))
{
    // c) The same fits as scripts send them: batches of 1,000 (one request each), run by the drain jobs.
    var batchSize = Math.Min(int.Parse(Environment.GetEnvironmentVariable("BATCH_SIZE") ?? "1000", CultureInfo.InvariantCulture), fits);
    // Batches first, not counted, after b too (one POST per fit does not run the batch path): without them c measures
    // the JIT compiling that path. C_WARM_UP (default 20,000; 0 for none): that many fits, in batches of at most
    // BATCH_SIZE, one after the other, to every API process in turn. After b alone c measured 3,200-3,800 fits/s,
    // after 2,000 fits of batches 4,300-5,600, after 20,000 5,900-7,900 (docs/throughput.md, goal 1 on PostgreSQL on
    // 2026-12-03).
    var warmUp = int.Parse(Environment.GetEnvironmentVariable("C_WARM_UP") ?? "20000", CultureInfo.InvariantCulture);
    // One batch as scripts send it: the lesson as `defaults`, then empty items.
    object Batch(int size) => new { defaults = request, fits = Enumerable.Range(0, size).Select(_ => new { }).ToArray() };
    var warmUpCpu = Cpu();
    for (var (left, k) = (warmUp, 0); left > 0; left -= batchSize, k++)
    {
        (await apis[k % apis.Length].PostAsJsonAsync("/v1/batches", Batch(Math.Min(left, batchSize)))).EnsureSuccessStatusCode();
        await AllEndedAsync();
    }
    Console.WriteLine($"c) warmed up with {warmUp} fits in batches of up to {batchSize}; measuring");
    if (warmUp > 0) Console.WriteLine("   warm-up " + CpuPerThousand(warmUpCpu, warmUp));
    var cpuBefore = Cpu();
    clock.Restart();
    await Parallel.ForEachAsync(Enumerable.Range(0, (fits + batchSize - 1) / batchSize), new ParallelOptions { MaxDegreeOfParallelism = clients }, async (i, ct) =>
    {
        using var response = await apis[i % apis.Length].PostAsJsonAsync("/v1/batches", Batch(batchSize), ct);
        response.EnsureSuccessStatusCode();
    });
    var batchSubmittedIn = clock.Elapsed.TotalSeconds;
    var batchFits = (fits + batchSize - 1) / batchSize * batchSize;
    await AllEndedAsync();
    var batchSeconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"c) the same fits in batches of {batchSize}: {batchFits} in {batchSeconds:F2} s = {batchFits / batchSeconds:F0} fits/s " +
                      $"(submitted in {batchSubmittedIn:F2} s); {LoadAverage()}");
    Console.WriteLine("   " + CpuPerThousand(cpuBefore, batchFits));
    if (noops > 0) Console.WriteLine($"   ratio c/a = {batchFits / batchSeconds / (noops / noopSeconds):F1}x");
}

if (phases.Contains('d'))
{
    // d) Fit end -> webhook arrival (the worker processes deliver; the receiver is here, on loopback). Submitted at a
    // steady pace, not all at once, so the figure is the path's latency rather than a backlog's.
    var arrivals = new System.Collections.Concurrent.ConcurrentDictionary<string, (DateTimeOffset FinishedAt, DateTimeOffset At)>();
    var receiverBuilder = WebApplication.CreateSlimBuilder();
    receiverBuilder.WebHost.UseUrls("http://127.0.0.1:0");
    receiverBuilder.Logging.ClearProviders();
    await using var receiver = receiverBuilder.Build();
    receiver.MapPost("/hook", async (HttpContext context) =>
    {
        var at = DateTimeOffset.UtcNow;
        using var body = await System.Text.Json.JsonDocument.ParseAsync(context.Request.Body);
        var data = body.RootElement.GetProperty("data");
        arrivals.TryAdd(data.GetProperty("id").GetString()!, (data.GetProperty("finishedAt").GetDateTimeOffset(), at));
        return Results.NoContent();
    });
    await receiver.StartAsync();
    var hook = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook";
    var withHook = new { request.x, request.y, request.degree, request.loss, request.learningRate, request.steps, webhook = new { url = hook } };
    var pace = TimeSpan.FromMilliseconds(40);
    async Task PacedAsync(int count)
    {
        arrivals.Clear();
        clock.Restart();
        for (var i = 0; i < count; i++)
        {
            (await http.PostAsJsonAsync("/v1/fits", withHook)).EnsureSuccessStatusCode();
            var due = pace * (i + 1) - clock.Elapsed;
            if (due > TimeSpan.Zero) await Task.Delay(due);
        }
        while (arrivals.Count < count && clock.Elapsed < TimeSpan.FromMinutes(5)) await Task.Delay(20);
    }
    // Freshly started processes spend their first seconds in the JIT: the first fits' figures are not the path's.
    await PacedAsync(Math.Min(latencyFits, 100));
    await PacedAsync(latencyFits);
    var webhookLatency = Percentiles(arrivals.Values.Select(a => (a.At - a.FinishedAt).TotalMilliseconds).ToList());
    if (Environment.GetEnvironmentVariable("BENCH_DUMP") is { Length: > 0 } dump)
        File.WriteAllLines(dump, arrivals.Values.OrderBy(a => a.FinishedAt).Select(a => $"{a.FinishedAt:HH:mm:ss.fff} {(a.At - a.FinishedAt).TotalMilliseconds:F1}"));
    Console.WriteLine($"d) fit end -> webhook received: {arrivals.Count} of {latencyFits} fits (one every {pace.TotalMilliseconds:0} ms): " +
                      $"p50 {webhookLatency.P50:F0} ms, p95 {webhookLatency.P95:F0} ms");
}

if (phases.Contains('e'))
{
    // e) Fit end -> answer of `Prefer: wait` (the API process learns of the end from the NOTIFY the worker process sends with the commit that stores it).
    var waits = new System.Collections.Concurrent.ConcurrentBag<double>();
    var warmUp = Math.Min(latencyFits, 40);
    await Parallel.ForEachAsync(Enumerable.Range(0, warmUp + Math.Min(latencyFits, 200)), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
    {
        using var post = new HttpRequestMessage(HttpMethod.Post, "/v1/fits") { Content = JsonContent.Create(request) };
        post.Headers.TryAddWithoutValidation("Prefer", "wait=30");
        using var response = await http.SendAsync(post, ct);
        var answered = DateTimeOffset.UtcNow;
        response.EnsureSuccessStatusCode();
        using var fit = await System.Text.Json.JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
        if (fit.RootElement.TryGetProperty("finishedAt", out var finished) && finished.ValueKind == System.Text.Json.JsonValueKind.String)
            if (i >= warmUp) waits.Add((answered - finished.GetDateTimeOffset()).TotalMilliseconds);
    });
    var waitLatency = Percentiles(waits.ToList());
    Console.WriteLine($"e) fit end -> Prefer: wait answered: {waits.Count} fits, 4 clients: p50 {waitLatency.P50:F0} ms, p95 {waitLatency.P95:F0} ms");
}

// Small fits, one POST each, by the clients over the given API processes in turn, until all have ended. Returns fits/s end to end and submitted.
async Task<(double EndToEnd, double Submitted)> OnePostEachAsync(string title, HttpClient[] targets, int? count = null)
{
    var n = count ?? fits;
    var seqBefore = await ScalarAsync("SELECT COALESCE(MAX(seq), 0) FROM fits");
    var succeeded = monitor.SucceededListCount();
    var cpuBefore = Cpu();
    clock.Restart();
    await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = clients }, async (i, ct) =>
    {
        // The body is serialized once: the generator shares the 2 cores with the service, so its own cost per POST is kept small.
        using var body = new ByteArrayContent(requestBody);
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await targets[i % targets.Length].PostAsync("/v1/fits", body, ct);
        response.EnsureSuccessStatusCode();
    });
    var submittedIn = clock.Elapsed.TotalSeconds;
    await AllEndedAsync();
    var seconds = clock.Elapsed.TotalSeconds;
    var latency = Percentiles((await ListAsync(
        $"SELECT EXTRACT(EPOCH FROM started_at - created_at) * 1000 FROM fits WHERE started_at IS NOT NULL AND seq > {seqBefore}")).ToList());
    var endToEnd = (await ListAsync(
        $"SELECT EXTRACT(EPOCH FROM finished_at - created_at) * 1000 FROM fits WHERE finished_at IS NOT NULL AND seq > {seqBefore} ORDER BY 1")).ToList();
    Console.WriteLine($"   submitted -> ended p50 {endToEnd[endToEnd.Count / 2]:F0} ms, p99 {endToEnd[Math.Min(endToEnd.Count - 1, (int)(endToEnd.Count * 0.99))]:F0} ms");
    // Points rows are never updated, so their xmin is the transaction that inserted them: one per insert statement.
    var statements = await ScalarAsync(
        $"SELECT COUNT(DISTINCT p.xmin::text) FROM fit_points p JOIN fits f ON f.id = p.fit_id WHERE f.seq > {seqBefore}");
    Console.WriteLine($"   inserted by {statements} statements, {(double)n / Math.Max(1, statements):F1} fits per statement");
    // Every job that succeeded meanwhile ran fits (drain jobs; this process cannot load their type to tell them apart).
    var drainJobs = monitor.SucceededListCount() - succeeded;
    Console.WriteLine($"{title}: {n} in {seconds:F2} s = {n / seconds:F0} fits/s " +
                      $"(submitted in {submittedIn:F2} s = {n / submittedIn:F0}/s by {clients} clients to {targets.Length} API processes); " +
                      $"queued -> started p50 {latency.P50:F0} ms, p95 {latency.P95:F0} ms; {drainJobs} Hangfire jobs ran them; {LoadAverage()}");
    Console.WriteLine("   " + CpuPerThousand(cpuBefore, n));
    return (n / seconds, n / submittedIn);
}

// Every fit of the database is the bench's, so all have ended when none is queued or running. Asked of the partial index
// of unfinished fits, and only whether one is left: counting the ended ones (or the unfinished ones, whose index holds
// every version a claim made) every 20 ms took a share of the database's CPU that the service then did not get.
async Task AllEndedAsync()
{
    // From the newest end of the unended index: drains claim the oldest first, so while fits are left this end is live, and
    // the poll does not step over the index entries of every fit ended since the last vacuum.
    while (await ScalarAsync("SELECT COUNT(*) FROM (SELECT 1 FROM fits WHERE finished_at IS NULL AND status < 2 ORDER BY seq DESC LIMIT 1) s") > 0) await Task.Delay(20);
}

// BENCH_CPU ("role=pid,…", from bench/scaleout.sh): CPU seconds by role, PostgreSQL's backends under its postmaster's pid.
// A process's own time and that of the children it reaped (PostgreSQL's ended backends), in clock ticks of 1/100 s.
static Dictionary<string, double> Cpu()
{
    static long[] Stat(string pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            // After the name: state (3), ppid (4), …, utime (14), stime (15), cutime (16), cstime (17).
            return [long.Parse(fields[1], CultureInfo.InvariantCulture),
                    long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture) +
                    long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture)];
        }
        catch (IOException)
        {
            return [0, 0];
        }
    }
    var roles = new Dictionary<string, double>();
    var spec = Environment.GetEnvironmentVariable("BENCH_CPU") ?? "";
    // The load generator (this process) runs on the same cores: its share is part of what a fit costs the machine here.
    if (spec.Length > 0) roles["generator"] = Stat(Environment.ProcessId.ToString(CultureInfo.InvariantCulture))[1] / 100.0;
    foreach (var entry in spec.Split(',', StringSplitOptions.RemoveEmptyEntries))
    {
        var (role, pid) = (entry.Split('=')[0], entry.Split('=')[1]);
        var ticks = Stat(pid)[1];
        if (role == "postgres")
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                var child = Path.GetFileName(dir);
                if (child.All(char.IsAsciiDigit) && Stat(child) is [var ppid, var t] && ppid.ToString(CultureInfo.InvariantCulture) == pid) ticks += t;
            }
        }
        roles[role] = roles.GetValueOrDefault(role) + ticks / 100.0;
    }
    return roles;
}

static string CpuPerThousand(Dictionary<string, double> before, int fits)
{
    var after = Cpu();
    if (after.Count == 0) return "cpu: BENCH_CPU not set";
    var parts = after.Select(r => (r.Key, Seconds: (r.Value - before.GetValueOrDefault(r.Key)) * 1000 / fits)).ToList();
    return "cpu seconds per 1,000 fits: " + string.Join(", ", parts.Select(p => $"{p.Key} {p.Seconds:F2}")) + $", all {parts.Sum(p => p.Seconds):F2}";
}

static string LoadAverage() => "load average " + string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

async Task<long> ScalarAsync(string sql)
{
    await using var cmd = db.CreateCommand(sql);
    return Convert.ToInt64(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
}

async Task<List<double>> ListAsync(string sql)
{
    await using var cmd = db.CreateCommand(sql);
    await using var reader = await cmd.ExecuteReaderAsync();
    var values = new List<double>();
    while (await reader.ReadAsync()) values.Add(Convert.ToDouble(reader.GetValue(0), CultureInfo.InvariantCulture));
    return values;
}

static (double P50, double P95) Percentiles(List<double> values)
{
    if (values.Count == 0) return (double.NaN, double.NaN);
    values.Sort();
    return (values[values.Count / 2], values[Math.Min(values.Count - 1, (int)(values.Count * 0.95))]);
}
