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
    /// <summary>Share of requests that submit a fit; the rest poll one (GET /v1/fits/{id}).</summary>
    public double SubmitFraction { get; init; } = 0.05;
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
    public int ServerErrors => StatusCounts.Where(s => s.Key >= 500).Sum(s => s.Value);

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine($"sent {Sent}, completed {Completed} in {Elapsed.TotalSeconds:0.0} s: {Throughput:0} requests/s, transport errors {TransportErrors}");
        text.AppendLine($"status codes: {string.Join(", ", StatusCounts.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))}");
        text.AppendLine();
        text.AppendLine("| kind | requests | p50 ms | p99 ms | max ms |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (var k in new[] { Submit, Poll }) text.AppendLine($"| {k.Kind} | {k.Count} | {k.P50Ms:0.00} | {k.P99Ms:0.00} | {k.MaxMs:0.0} |");
        if (RssBeforeBytes is { } before && RssAfterBytes is { } after)
            text.AppendLine($"\nservice RSS: {before / 1048576.0:0} MB before, {after / 1048576.0:0} MB after ({(after - before) / 1048576.0:+0;-0} MB)");
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

        var statuses = new ConcurrentDictionary<int, int>();
        var submitLatencies = new ConcurrentBag<double>();
        var pollLatencies = new ConcurrentBag<double>();
        var transportErrors = 0;
        var completed = 0;
        using var inFlight = new SemaphoreSlim(options.MaxInFlight);
        var tasks = new List<Task>(options.Requests);
        var random = new Random(1);
        var clock = Stopwatch.StartNew();
        var sent = 0;
        for (; sent < options.Requests && clock.Elapsed < options.MaxDuration; sent++)
        {
            var due = TimeSpan.FromSeconds(sent / options.RatePerSecond);
            while (clock.Elapsed < due) await Task.Delay(due - clock.Elapsed > TimeSpan.FromMilliseconds(2) ? 1 : 0, ct);
            var k = sent % keys.Count;
            var isSubmit = random.NextDouble() < options.SubmitFraction;
            string pollId;
            lock (ids[k]) pollId = ids[k][random.Next(ids[k].Count)];
            await inFlight.WaitAsync(ct);
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    using var request = isSubmit ? Submit(keys[k]) : Poll(keys[k], pollId);
                    using var response = await http.SendAsync(request, ct);
                    await response.Content.LoadIntoBufferAsync(ct);
                    var latency = (clock.Elapsed - due).TotalMilliseconds;
                    (isSubmit ? submitLatencies : pollLatencies).Add(latency);
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
            }, ct));
        }
        await Task.WhenAll(tasks);
        var elapsed = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(3), ct); // let the workers finish what was submitted
        var rssAfter = Rss(options.ServicePid);

        return new LoadReport(sent, completed, elapsed, completed / elapsed.TotalSeconds, statuses.ToDictionary(), transportErrors,
            Kind("submit", submitLatencies), Kind("poll (GET)", pollLatencies), rssBefore, rssAfter);
    }

    /// <summary>Resident memory of a process in bytes, from /proc (Linux); null elsewhere.</summary>
    public static long? Rss(int? pid)
    {
        if (pid is null || !File.Exists($"/proc/{pid}/status")) return null;
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
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

    private static HttpRequestMessage Poll(string? key, string id) => WithKey(new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{id}"), key);

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
