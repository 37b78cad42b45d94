using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

namespace FitService.LoadTest;

/// <summary>What to send: a fixed number of requests at a fixed rate, never longer than <see cref="MaxDuration"/>.</summary>
public sealed record LoadOptions
{
    public required Uri BaseUrl { get; init; }
    public int Requests { get; init; } = 120_000;
    public double RatePerSecond { get; init; } = 2_000;
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Share of requests that submit a fit; the rest read (GET): a fit, a page of the list or a page of a history.</summary>
    public double SubmitFraction { get; init; } = 0.05;
    /// <summary>Of the reads, the share that list the tenant's fits (<c>GET /v1/fits?limit=20</c>).</summary>
    public double ListFraction { get; init; } = 0.15;
    /// <summary>Of the reads, the share that read a page of a fit's history (<c>GET /v1/fits/{id}/history?offset=…&amp;limit=50</c>).</summary>
    public double HistoryFraction { get; init; } = 0.15;
    /// <summary>How often the service's memory is sampled during the run.</summary>
    public TimeSpan RssEvery { get; init; } = TimeSpan.FromSeconds(10);
    public int MaxInFlight { get; init; } = 256;
    public IReadOnlyList<string> ApiKeys { get; init; } = [];
    public int SeedFits { get; init; } = 50;
    /// <summary>The service's process id on this machine, to read its memory before and after.</summary>
    public int? ServicePid { get; init; }
}

public sealed record KindReport(string Kind, int Count, double P50Ms, double P99Ms, double MaxMs);

public sealed record LoadReport(
    int Sent, int Completed, TimeSpan Elapsed, double Throughput, IReadOnlyDictionary<int, int> StatusCounts, int TransportErrors,
    KindReport Submit, KindReport Poll, long? RssBeforeBytes, long? RssAfterBytes)
{
    /// <summary>The reads by kind (a fit, a list page, a history page); <see cref="Poll"/> is all of them.</summary>
    public IReadOnlyList<KindReport> Reads { get; init; } = [];

    /// <summary>CPU time the service spent during the run (user and system), when its process id is known.</summary>
    public TimeSpan? ServiceCpu { get; init; }

    /// <summary>The service's resident memory every <see cref="LoadOptions.RssEvery"/> of the run, in bytes.</summary>
    public IReadOnlyList<long> RssSamples { get; init; } = [];

    /// <summary>The reads timed from when each was sent rather than when it was due: the generator's own lag left out.</summary>
    public KindReport? PollFromSend { get; init; }

    /// <summary>The reads as the service timed them (its <c>http_server_request_duration_seconds</c>), when it serves them.</summary>
    public ServerDurations? ServerReads { get; init; }

    /// <summary>CPU time the generator itself spent during the run: on a machine of few cores it competes with the service.</summary>
    public TimeSpan GeneratorCpu { get; init; }

    /// <summary>The machine's load average (1, 5, 15 minutes) at the end of the run.</summary>
    public string LoadAverageAfter { get; init; } = "";

    public int ServerErrors => StatusCounts.Where(s => s.Key >= 500).Sum(s => s.Value);

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine($"sent {Sent}, completed {Completed} in {Elapsed.TotalSeconds:0.0} s: {Throughput:0} requests/s, transport errors {TransportErrors}");
        text.AppendLine($"status codes: {string.Join(", ", StatusCounts.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))}");
        text.AppendLine();
        text.AppendLine("| kind | requests | p50 ms | p99 ms | max ms |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (var k in new[] { Submit, Poll }.Concat(Reads).Append(PollFromSend).OfType<KindReport>()) text.AppendLine($"| {k.Kind} | {k.Count} | {k.P50Ms:0.00} | {k.P99Ms:0.00} | {k.MaxMs:0.0} |");
        if (ServerReads is { } server)
            text.AppendLine($"| read, server-side (http_server_request_duration) | {server.Count} | {server.Quantile(0.50) * 1000:0.00} | {server.Quantile(0.99) * 1000:0.00} | ≤ {server.Max * 1000:0.#} |")
                .AppendLine($"\nserver-side: {server.ShareWithin(0.010):P2} of the reads took ≤ 10 ms inside the service (quantiles interpolated within histogram buckets)");
        if (RssBeforeBytes is { } before && RssAfterBytes is { } after)
            text.AppendLine($"\nservice RSS: {before / 1048576.0:0} MB before, {after / 1048576.0:0} MB after ({(after - before) / 1048576.0:+0;-0} MB)");
        if (ServiceCpu is { } cpu && Completed > 0)
            text.AppendLine($"service CPU: {cpu.TotalSeconds:0.0} s, {cpu.TotalMicroseconds / Completed:0} µs per request (less sensitive to a busy machine than the rates); generator CPU: {GeneratorCpu.TotalSeconds:0.0} s");
        if (LoadAverageAfter.Length > 0) text.AppendLine($"load average at the end: {LoadAverageAfter}");
        if (RssSamples.Count > 0)
            text.AppendLine($"service RSS during the run (MB): {string.Join(' ', RssSamples.Select(b => (b / 1048576.0).ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}");
        return text.ToString();
    }
}

/// <summary>
/// An open-loop load generator: request i is due at i / rate seconds, whether or not earlier ones have answered, and its
/// latency counts from when it was due (so a stalled server shows up in the percentiles rather than slowing the sender).
/// </summary>
public static class LoadRun
{
    private static readonly string FitBody = BuildFitBody();

    public static async Task<LoadReport> RunAsync(LoadOptions options, CancellationToken ct = default)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = options.MaxInFlight, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        using var http = new HttpClient(handler) { BaseAddress = options.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        var keys = options.ApiKeys.Count > 0 ? options.ApiKeys : [null!];

        // Seed fits to poll, per key (a tenant sees only its own).
        var ids = new List<string>[keys.Count];
        for (var k = 0; k < keys.Count; k++)
        {
            ids[k] = [];
            for (var i = 0; i < Math.Max(1, options.SeedFits / keys.Count); i++)
            {
                using var response = await http.SendAsync(Submit(keys[k]), ct);
                if ((int)response.StatusCode is 201 or 202) ids[k].Add(IdFrom(response));
            }
            if (ids[k].Count == 0) throw new InvalidOperationException($"could not seed fits (key {k}); is the service up and the key valid?");
        }
        await Task.Delay(500, ct);
        var rssBefore = Rss(options.ServicePid);
        var cpuBefore = Cpu(options.ServicePid);

        var statuses = new ConcurrentDictionary<int, int>();
        var submitLatencies = new ConcurrentBag<double>();
        var readLatencies = new[] { new ConcurrentBag<double>(), new ConcurrentBag<double>(), new ConcurrentBag<double>() };
        var readFromSend = new ConcurrentBag<double>();
        var rssSamples = new List<long>();
        var nextRss = options.RssEvery;
        var transportErrors = 0;
        var completed = 0;
        using var inFlight = new SemaphoreSlim(options.MaxInFlight);
        var tasks = new List<Task>(options.Requests);
        var random = new Random(1);
        var serverBefore = await ServerDurations.ScrapeAsync(http, ct);
        var generatorCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var sent = 0;
        for (; sent < options.Requests && clock.Elapsed < options.MaxDuration; sent++)
        {
            var due = TimeSpan.FromSeconds(sent / options.RatePerSecond);
            // Sleep (about a millisecond, the timer's grain) rather than spin until the next request is due: a spinning
            // generator takes a whole core, half of this machine, from the service it measures. Requests that fell due
            // during the sleep go out together; their latency still counts from when each was due.
            while (clock.Elapsed < due) await Task.Delay(1, ct);
            var k = sent % keys.Count;
            if (clock.Elapsed >= nextRss && Rss(options.ServicePid) is { } rss)
            {
                rssSamples.Add(rss);
                nextRss += options.RssEvery;
            }
            var isSubmit = random.NextDouble() < options.SubmitFraction;
            var read = random.NextDouble() is var r && r < options.ListFraction ? Read.List : r < options.ListFraction + options.HistoryFraction ? Read.History : Read.Fit;
            var offset = random.Next(2) * 50;
            string pollId;
            lock (ids[k]) pollId = ids[k][random.Next(ids[k].Count)];
            await inFlight.WaitAsync(ct);
            tasks.Add(SendOneAsync(due, isSubmit, k, read, pollId, offset));
        }
        await Task.WhenAll(tasks);
        var elapsed = clock.Elapsed;
        var cpuAfter = Cpu(options.ServicePid);
        var generatorCpu = Process.GetCurrentProcess().TotalProcessorTime - generatorCpuBefore;
        var serverAfter = await ServerDurations.ScrapeAsync(http, ct);
        var loadAverage = LoadAverage();
        await Task.Delay(TimeSpan.FromSeconds(3), ct); // let the workers finish what was submitted
        var rssAfter = Rss(options.ServicePid);

        async Task SendOneAsync(TimeSpan due, bool isSubmit, int k, Read read, string pollId, int offset)
        {
            await Task.Yield(); // the send loop goes on at once
            try
            {
                var sentAt = clock.Elapsed;
                using var request = isSubmit ? Submit(keys[k]) : Get(keys[k], read, pollId, offset);
                using var response = await http.SendAsync(request, ct);
                await response.Content.LoadIntoBufferAsync(ct);
                var now = clock.Elapsed;
                (isSubmit ? submitLatencies : readLatencies[(int)read]).Add((now - due).TotalMilliseconds);
                if (!isSubmit) readFromSend.Add((now - sentAt).TotalMilliseconds);
                statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                if (isSubmit && (int)response.StatusCode is 201 or 202)
                {
                    var id = IdFrom(response);
                    lock (ids[k]) ids[k].Add(id);
                }
                Interlocked.Increment(ref completed);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref transportErrors);
            }
            finally
            {
                inFlight.Release();
            }
        }

        return new LoadReport(sent, completed, elapsed, completed / elapsed.TotalSeconds, statuses.ToDictionary(), transportErrors,
            Kind("submit", submitLatencies), Kind("read (GET, all)", readLatencies.SelectMany(l => l)), rssBefore, rssAfter)
        {
            Reads = [Kind("GET a fit", readLatencies[(int)Read.Fit]), Kind("GET a list page", readLatencies[(int)Read.List]),
                     Kind("GET a history page", readLatencies[(int)Read.History])],
            RssSamples = rssSamples,
            ServiceCpu = cpuAfter - cpuBefore,
            PollFromSend = Kind("read, from send (not due)", readFromSend),
            ServerReads = serverBefore is not null && serverAfter is not null ? serverAfter.Minus(serverBefore) : null,
            GeneratorCpu = generatorCpu,
            LoadAverageAfter = loadAverage,
        };
    }

    private enum Read { Fit, List, History }

    /// <summary>The machine's load average over 1, 5 and 15 minutes (Linux); empty elsewhere.</summary>
    public static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "";

    /// <summary>Resident memory of a process in bytes, from /proc (Linux); null elsewhere.</summary>
    public static long? Rss(int? pid)
    {
        if (pid is null || !File.Exists($"/proc/{pid}/status")) return null;
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    /// <summary>User and system CPU time of a process, from /proc (Linux); null elsewhere.</summary>
    public static TimeSpan? Cpu(int? pid)
    {
        if (pid is null || !File.Exists($"/proc/{pid}/stat")) return null;
        // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    private static KindReport Kind(string kind, IEnumerable<double> latencies)
    {
        var sorted = latencies.Order().ToArray();
        double At(double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return new KindReport(kind, sorted.Length, At(0.50), At(0.99), sorted.Length == 0 ? 0 : sorted[^1]);
    }

    private static HttpRequestMessage Submit(string? key) => WithKey(new HttpRequestMessage(HttpMethod.Post, "/v1/fits")
    {
        Content = new StringContent(FitBody, Encoding.UTF8, "application/json"),
    }, key);

    private static HttpRequestMessage Get(string? key, Read read, string id, int offset) => WithKey(new HttpRequestMessage(HttpMethod.Get, read switch
    {
        Read.List => "/v1/fits?limit=20",
        Read.History => $"/v1/fits/{id}/history?offset={offset}&limit=50",
        _ => $"/v1/fits/{id}",
    }), key);

    private static HttpRequestMessage WithKey(HttpRequestMessage request, string? key)
    {
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    private static string IdFrom(HttpResponseMessage response) => response.Headers.Location!.OriginalString.Split('/')[^1];

    private static string BuildFitBody()
    {
        var x = Enumerable.Range(0, 20).Select(i => -2 + 4 * i / 19.0).ToArray();
        var y = x.Select(v => 3 * v * v + 2 * v + 1).ToArray();
        return $"{{\"x\":[{string.Join(',', x.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}]," +
               $"\"y\":[{string.Join(',', y.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}]," +
               "\"degree\":2,\"loss\":\"mae\",\"learningRate\":0.01,\"steps\":100,\"label\":\"load\"}";
    }
}
