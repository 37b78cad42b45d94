using System.Diagnostics;
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
    /// <summary>A client to reuse (<see cref="LoadRun.CreateClient"/>), so that a warm-up's connections serve the measured run; one per run otherwise.</summary>
    public HttpClient? Client { get; init; }

    /// <summary>
    /// How often to ask the service (<see cref="ServicePid"/>) for a full GC during the run and read its live heap, for the
    /// live heap's slope over the second half; null for never. Each is one blocking GC of the service inside the measured
    /// window: a few requests wait behind it, too few to move a p99.
    /// </summary>
    public TimeSpan? LiveHeapEvery { get; init; }
}

/// <summary>The service's live heap (after a full GC the generator asked for) at <see cref="At"/> into the run.</summary>
public sealed record LiveHeapSample(TimeSpan At, long Bytes);

/// <summary>
/// The reads slower than a bound from their send, grouped into stalls: runs of slow reads sent with less than
/// <see cref="LoadReport.StallGapMs"/> between one and the next. One process that stops for a while (a GC pause of the
/// service, the generator not on a core) makes one stall of every read sent meanwhile; a slow read alone is a slow request.
/// </summary>
/// <param name="SlowReads">Reads slower than the bound, from their send.</param>
/// <param name="Stalls">Their groups.</param>
/// <param name="InStallsOfFive">Slow reads in a group of five or more.</param>
/// <param name="Largest">Reads in the largest group.</param>
public sealed record StallReport(double BoundMs, int SlowReads, int Stalls, int InStallsOfFive, int Largest);

/// <summary>The service's memory at <see cref="At"/> into the run: resident (/proc) and managed heap after its last GC (its /metrics).</summary>
public sealed record MemorySample(TimeSpan At, long? RssBytes, long? ManagedHeapBytes);

public sealed record KindReport(string Kind, int Count, double P50Ms, double P99Ms, double MaxMs);

public sealed record LoadReport(
    int Sent, int Completed, TimeSpan Elapsed, double Throughput, IReadOnlyDictionary<int, int> StatusCounts, int TransportErrors,
    KindReport Submit, KindReport Poll, long? RssBeforeBytes, long? RssAfterBytes)
{
    /// <summary>The reads by kind (a fit, a list page, a history page); <see cref="Poll"/> is all of them.</summary>
    public IReadOnlyList<KindReport> Reads { get; init; } = [];

    /// <summary>CPU time the service spent during the run (user and system), when its process id is known.</summary>
    public TimeSpan? ServiceCpu { get; init; }

    /// <summary>The service's memory every <see cref="LoadOptions.RssEvery"/> of the run.</summary>
    public IReadOnlyList<MemorySample> MemorySamples { get; init; } = [];

    /// <summary>The service's resident memory every <see cref="LoadOptions.RssEvery"/> of the run, in bytes.</summary>
    public IReadOnlyList<long> RssSamples => [.. MemorySamples.Where(s => s.RssBytes is not null).Select(s => s.RssBytes!.Value)];

    /// <summary>
    /// How fast a quantity grew over the second half of the run (least squares over the samples taken after half of it,
    /// MB a minute): the first half holds the warm-up of caches, pools and the heap; a service that does not grow
    /// shows ~0 here, whatever its level.
    /// </summary>
    public static double? SlopeMbPerMinute(IReadOnlyList<MemorySample> samples, Func<MemorySample, long?> value)
    {
        if (samples.Count == 0) return null;
        var half = samples[^1].At / 2;
        var points = samples.Where(s => s.At >= half && value(s) is not null).Select(s => (X: s.At.TotalMinutes, Y: value(s)!.Value / 1048576.0)).ToArray();
        if (points.Length < 3) return null;
        var (mx, my) = (points.Average(p => p.X), points.Average(p => p.Y));
        var sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        return sxx == 0 ? null : points.Sum(p => (p.X - mx) * (p.Y - my)) / sxx;
    }

    /// <summary>The reads timed from when each was sent rather than when it was due: the generator's own lag left out.</summary>
    public KindReport? PollFromSend { get; init; }

    /// <summary>The reads as the service timed them (its <c>http_server_request_duration_seconds</c>), when it serves them.</summary>
    public ServerDurations? ServerReads { get; init; }

    /// <summary>CPU time the generator itself spent during the run: on a machine of few cores it competes with the service.</summary>
    public TimeSpan GeneratorCpu { get; init; }

    /// <summary>The machine's load average (1, 5, 15 minutes) at the end of the run.</summary>
    public string LoadAverageAfter { get; init; } = "";

    /// <summary>The service's GC pauses during the run (its <c>dotnet_gc_pause_time_seconds_total</c>), when its /metrics shows them.</summary>
    public TimeSpan? ServiceGcPause { get; init; }

    /// <summary>The service's live heap (after a full GC asked for by the generator) before the measured run, when measured.</summary>
    public LiveHeap? LiveHeapAtStart { get; init; }

    /// <summary>The same at the end of the measured run; with <see cref="LiveHeapAtStart"/>, growth that no GC can take back.</summary>
    public LiveHeap? LiveHeapAtEnd { get; init; }

    /// <summary>The service's live heap during the run (<see cref="LoadOptions.LiveHeapEvery"/>), start and end included when measured.</summary>
    public IReadOnlyList<LiveHeapSample> LiveHeaps { get; init; } = [];

    /// <summary>How late the generator sent each request after it was due (its own schedule's slip: timer grain, its GC, no core).</summary>
    public KindReport? SendSlip { get; init; }

    /// <summary>Reads slower than 10 ms from their send, grouped into stalls (<see cref="FindStalls"/>).</summary>
    public StallReport? Stalls { get; init; }

    /// <summary>The service's garbage collections during the run (all generations; its <c>dotnet_gc_collections_total</c>).</summary>
    public long? ServiceCollections { get; init; }

    /// <summary>The generator's own GC pauses and collections during the run.</summary>
    public (TimeSpan Pause, int Collections) GeneratorGc { get; init; }

    /// <summary>The largest gap between two slow sends of one stall, in milliseconds (four sends' worth at 2,000 a second).</summary>
    public const double StallGapMs = 2.0;

    public int ServerErrors => StatusCounts.Where(s => s.Key >= 500).Sum(s => s.Value);

    /// <summary>The live heap's growth over the second half of the run (least squares over the samples from half of it, MB a minute).</summary>
    public double? LiveHeapSlopeMbPerMinute => LiveHeaps.Count == 0 ? null
        : SlopeMbPerMinute([.. LiveHeaps.Select(l => new MemorySample(l.At, null, l.Bytes))], s => s.ManagedHeapBytes);

    /// <summary>
    /// Groups the sends of slow requests (<paramref name="sendTimesMs"/>, in any order) into stalls: a send less than
    /// <paramref name="gapMs"/> after the previous one joins its stall.
    /// </summary>
    public static StallReport FindStalls(IEnumerable<double> sendTimesMs, double boundMs, double gapMs = StallGapMs)
    {
        var sorted = sendTimesMs.Order().ToArray();
        var sizes = new List<int>();
        for (var i = 0; i < sorted.Length; i++)
        {
            if (i == 0 || sorted[i] - sorted[i - 1] >= gapMs) sizes.Add(0);
            sizes[^1]++;
        }
        return new StallReport(boundMs, sorted.Length, sizes.Count, sizes.Where(n => n >= 5).Sum(), sizes.Count == 0 ? 0 : sizes.Max());
    }

    /// <summary>
    /// Goal 5 of issue #17 in plain lines: at 2,000 requests/s (95 % reads), GET p99 ≤ 10 ms after warm-up, no 5xx, no
    /// memory growth (the live heap after full GCs, and RSS, flat over the second half).
    /// </summary>
    public string Goal5Summary()
    {
        var text = new StringBuilder("goal 5 (GET p99 <= 10 ms, no 5xx, no memory growth):\n");
        text.AppendLine($"  rate: {Throughput:0} requests/s completed of {Sent / Math.Max(Elapsed.TotalSeconds, 1e-9):0} sent a second; 5xx: {ServerErrors}; transport errors: {TransportErrors}");
        var server = ServerReads is { } s ? $"{s.Quantile(0.99) * 1000:0.00} ms in the service ({s.ShareWithin(0.010):P2} <= 10 ms)" : "? in the service";
        text.AppendLine($"  GET p99: {server}, {PollFromSend?.P99Ms ?? double.NaN:0.00} ms from send, {Poll.P99Ms:0.00} ms from due");
        if (LiveHeaps.Count >= 2)
        {
            var (first, last) = (LiveHeaps[0], LiveHeaps[^1]);
            text.AppendLine($"  live heap after a full GC: {first.Bytes / 1048576.0:0.0} MB at {first.At.TotalMinutes:0.0} min, {last.Bytes / 1048576.0:0.0} MB at {last.At.TotalMinutes:0.0} min; " +
                            $"second half {Slope(LiveHeapSlopeMbPerMinute)} ({string.Join(' ', LiveHeaps.Select(l => (l.Bytes / 1048576.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)))} MB)");
        }
        if (RssSamples.Count >= 2)
            text.AppendLine($"  RSS: {RssSamples[0] / 1048576.0:0} MB first sample, {RssSamples[^1] / 1048576.0:0} MB last; second half {Slope(SlopeMbPerMinute(MemorySamples, m => m.RssBytes))}");
        if (SendSlip is { } slip)
            text.AppendLine($"  generator: sends late by p50 {slip.P50Ms:0.00} / p99 {slip.P99Ms:0.00} / max {slip.MaxMs:0.0} ms; its GC {GeneratorGc.Pause.TotalMilliseconds:0} ms in {GeneratorGc.Collections} collections; CPU {GeneratorCpu.TotalSeconds:0.0} s");
        if (Stalls is { } stalls)
            text.AppendLine($"  reads > {stalls.BoundMs:0} ms from send: {stalls.SlowReads} in {stalls.Stalls} stalls ({stalls.InStallsOfFive} in stalls of 5 or more, the largest {stalls.Largest}); " +
                            $"service GCs in the run: {(ServiceCollections is { } c ? c.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?")}, their pauses {ServiceGcPause?.TotalMilliseconds ?? double.NaN:0} ms");
        return text.ToString();
    }

    private static string Slope(double? mbPerMinute) => mbPerMinute is { } v ? $"{v:+0.00;-0.00} MB/min" : "too few samples";

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
        if (ServiceGcPause is { } pause)
            text.AppendLine($"service GC pauses: {pause.TotalMilliseconds:0} ms, {pause.TotalMilliseconds / Elapsed.TotalSeconds:0.0} ms a second");
        if (LoadAverageAfter.Length > 0) text.AppendLine($"load average at the end: {LoadAverageAfter}");
        if (MemorySamples.Count > 0)
        {
            static string Mb(long? bytes) => bytes is { } b ? (b / 1048576.0).ToString("0", System.Globalization.CultureInfo.InvariantCulture) : "?";
            text.AppendLine($"service RSS during the run (MB): {string.Join(' ', MemorySamples.Select(s => Mb(s.RssBytes)))}");
            if (MemorySamples.Any(s => s.ManagedHeapBytes is not null))
                text.AppendLine($"service managed heap during the run (MB, after the last GC): {string.Join(' ', MemorySamples.Select(s => Mb(s.ManagedHeapBytes)))}");
            text.AppendLine($"growth over the second half (least squares, {MemorySamples.Count(s => s.At >= MemorySamples[^1].At / 2)} samples from minute {MemorySamples[^1].At.TotalMinutes / 2:0.0}): " +
                            $"RSS {Slope(SlopeMbPerMinute(MemorySamples, s => s.RssBytes))}, managed heap {Slope(SlopeMbPerMinute(MemorySamples, s => s.ManagedHeapBytes))}");
        }
        if (LiveHeapAtStart is { } start && LiveHeapAtEnd is { } end)
        {
            // "After the last GC" above may hold a gen2 not yet collected; these two follow a full GC each, so they differ only by what stays live.
            var minutes = Elapsed.TotalMinutes;
            text.AppendLine($"service live heap after a full GC: {start.Bytes / 1048576.0:0.0} MB at the start, {end.Bytes / 1048576.0:0.0} MB at the end " +
                            $"({(end.Bytes - start.Bytes) / 1048576.0:+0.0;-0.0} MB, {(end.Bytes - start.Bytes) / 1048576.0 / Math.Max(minutes, 1e-9):+0.00;-0.00} MB/min over {minutes:0.0} min)");
        }
        return text.ToString();
    }
}

/// <summary>
/// An open-loop load generator: request i is due at i / rate seconds, whether or not earlier ones have answered, and its
/// latency counts from when it was due (so a stalled server shows up in the percentiles rather than slowing the sender).
/// It shares the machine's cores with the service it measures, so it does as little as it can per request: latencies go
/// into arrays allocated once (no per-request task, bag node or closure kept for the run), targets and headers are built
/// once per fit, bodies are drained into one shared buffer, and no activity is started per request (LoadTest.csproj).
/// </summary>
public static class LoadRun
{
    private static readonly byte[] FitBody = Encoding.UTF8.GetBytes(BuildFitBody());

    /// <summary>
    /// Where every answer's body is drained, by all requests at once: its bytes are never read, so concurrent writes do no
    /// harm. A buffer per request (even pooled: the pool keeps a few per core, not the 256 a slow service holds in flight)
    /// would be 16 KB of garbage per request that lives as long as the request, i.e. into gen1 and gen2 under load.
    /// </summary>
    private static readonly byte[] Discard = new byte[64 * 1024];

    /// <summary>An HTTP client for <see cref="LoadOptions.Client"/>: one per service, so the warm-up's connections serve the measured run.</summary>
    public static HttpClient CreateClient(Uri baseUrl, int maxConnections = 256)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            PooledConnectionLifetime = TimeSpan.FromMinutes(30),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            // Loopback only: no proxy lookup, no cookie container, no decompression on the generator's cores.
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        return new HttpClient(handler) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    public static async Task<LoadReport> RunAsync(LoadOptions options, CancellationToken ct = default)
    {
        var ownClient = options.Client is null ? CreateClient(options.BaseUrl, options.MaxInFlight) : null;
        var http = options.Client ?? ownClient!;
        try
        {
            return await RunAsync(options, http, ct);
        }
        finally
        {
            ownClient?.Dispose();
        }
    }

    private static async Task<LoadReport> RunAsync(LoadOptions options, HttpClient http, CancellationToken ct)
    {
        var keys = options.ApiKeys.Count > 0 ? options.ApiKeys : [null!];
        var bearers = keys.Select(k => k is null ? null : "Bearer " + k).ToArray();
        var baseUrl = http.BaseAddress ?? options.BaseUrl;
        var listPage = new Uri(baseUrl, "/v1/fits?limit=20");

        // Seed fits to poll, per key (a tenant sees only its own).
        var targets = new List<FitTarget>[keys.Count];
        for (var k = 0; k < keys.Count; k++)
        {
            targets[k] = [];
            for (var i = 0; i < Math.Max(1, options.SeedFits / keys.Count); i++)
            {
                using var response = await http.SendAsync(Submit(baseUrl, bearers[k]), ct);
                if ((int)response.StatusCode is 201 or 202) targets[k].Add(new FitTarget(baseUrl, IdFrom(response)));
            }
            if (targets[k].Count == 0) throw new InvalidOperationException($"could not seed fits (key {k}); is the service up and the key valid?");
        }
        await Task.Delay(500, ct);
        var rssBefore = Rss(options.ServicePid);
        var cpuBefore = Cpu(options.ServicePid);

        // One slot per request, written once by the request's own task: nothing grows during the run.
        var fromDue = new double[options.Requests];
        var fromSend = new double[options.Requests];
        var kinds = new byte[options.Requests];
        var statusCounts = new int[600];
        var transportErrors = 0;
        var completed = 0;
        using var inFlight = new SemaphoreSlim(options.MaxInFlight);
        var random = new Random(1);
        var serverBefore = await ServerDurations.ScrapeAsync(http, ct);
        var pauseBefore = await ServiceHeap.PauseTimeAsync(http, ct);
        var generatorCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        // Memory is sampled beside the send loop, not in it: a scrape of /metrics must not delay a send.
        using var sendingDone = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var memory = SampleMemoryAsync(http, options, clock, sendingDone.Token);
        var liveHeaps = SampleLiveHeapAsync(http, options, clock, sendingDone.Token);
        var collectionsBefore = await ServiceHeap.CollectionsAsync(http, ct);
        var (generatorPauseBefore, generatorCollectionsBefore) = (GC.GetTotalPauseDuration(), GC.CollectionCount(0));
        var sent = 0;
        for (; sent < options.Requests && clock.Elapsed < options.MaxDuration; sent++)
        {
            var due = TimeSpan.FromSeconds(sent / options.RatePerSecond);
            // Sleep (about a millisecond, the timer's grain) rather than spin until the next request is due: a spinning
            // generator takes a whole core, half of this machine, from the service it measures. Requests that fell due
            // during the sleep go out together; their latency still counts from when each was due.
            while (clock.Elapsed < due) await Task.Delay(1, ct);
            var k = sent % keys.Count;
            var isSubmit = random.NextDouble() < options.SubmitFraction;
            var read = random.NextDouble() is var r && r < options.ListFraction ? Read.List : r < options.ListFraction + options.HistoryFraction ? Read.History : Read.Fit;
            var offset = random.Next(2) * 50;
            FitTarget target;
            lock (targets[k]) target = targets[k][random.Next(targets[k].Count)];
            var uri = read switch { Read.List => listPage, Read.History => offset == 0 ? target.History0 : target.History50, _ => target.Fit };
            await inFlight.WaitAsync(ct);
            _ = SendOneAsync(sent, due, isSubmit ? Submit(baseUrl, bearers[k]) : Get(uri, bearers[k]), isSubmit ? SubmitKind : (byte)read, k);
        }
        // Every request has ended when every slot is free again.
        for (var i = 0; i < options.MaxInFlight; i++) await inFlight.WaitAsync(ct);
        var elapsed = clock.Elapsed;
        await sendingDone.CancelAsync();
        var samples = await memory;
        var live = await liveHeaps;
        var generatorGc = (GC.GetTotalPauseDuration() - generatorPauseBefore, GC.CollectionCount(0) - generatorCollectionsBefore);
        var collectionsAfter = await ServiceHeap.CollectionsAsync(http, ct);
        var cpuAfter = Cpu(options.ServicePid);
        var generatorCpu = Process.GetCurrentProcess().TotalProcessorTime - generatorCpuBefore;
        var serverAfter = await ServerDurations.ScrapeAsync(http, ct);
        var pauseAfter = await ServiceHeap.PauseTimeAsync(http, ct);
        var loadAverage = LoadAverage();
        await Task.Delay(TimeSpan.FromSeconds(3), ct); // let the workers finish what was submitted
        var rssAfter = Rss(options.ServicePid);

        async Task SendOneAsync(int index, TimeSpan due, HttpRequestMessage request, byte kind, int k)
        {
            await Task.Yield(); // the send loop goes on at once
            try
            {
                using (request)
                {
                    var sentAt = clock.Elapsed;
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                    await using (var body = await response.Content.ReadAsStreamAsync(ct))
                    {
                        while (await body.ReadAsync(Discard, ct) > 0) { }
                    }
                    var now = clock.Elapsed;
                    fromDue[index] = (now - due).TotalMilliseconds;
                    fromSend[index] = (now - sentAt).TotalMilliseconds;
                    kinds[index] = kind;
                    var status = (int)response.StatusCode;
                    Interlocked.Increment(ref statusCounts[Math.Clamp(status, 0, statusCounts.Length - 1)]);
                    if (kind == SubmitKind && status is 201 or 202)
                    {
                        var added = new FitTarget(baseUrl, IdFrom(response));
                        lock (targets[k]) targets[k].Add(added);
                    }
                    Interlocked.Increment(ref completed);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                Interlocked.Increment(ref transportErrors);
            }
            finally
            {
                inFlight.Release();
            }
        }

        IEnumerable<double> Of(double[] latencies, Func<byte, bool> kind)
        {
            for (var i = 0; i < sent; i++) if (kinds[i] != NotDone && kind(kinds[i])) yield return latencies[i];
        }
        static bool IsRead(byte kind) => kind != SubmitKind;
        // What the generator's own schedule added: sent at due + (from due − from send).
        IEnumerable<double> Slips()
        {
            for (var i = 0; i < sent; i++) if (kinds[i] != NotDone) yield return fromDue[i] - fromSend[i];
        }
        IEnumerable<double> SlowReadSends(double boundMs)
        {
            for (var i = 0; i < sent; i++)
                if (kinds[i] != NotDone && IsRead(kinds[i]) && fromSend[i] > boundMs) yield return i * 1000.0 / options.RatePerSecond + fromDue[i] - fromSend[i];
        }

        return new LoadReport(sent, completed, elapsed, completed / elapsed.TotalSeconds,
            statusCounts.Select((n, status) => (n, status)).Where(s => s.n > 0).ToDictionary(s => s.status, s => s.n), transportErrors,
            Kind("submit", Of(fromDue, k => k == SubmitKind)), Kind("read (GET, all)", Of(fromDue, IsRead)), rssBefore, rssAfter)
        {
            Reads = [Kind("GET a fit", Of(fromDue, k => k == (byte)Read.Fit)), Kind("GET a list page", Of(fromDue, k => k == (byte)Read.List)),
                     Kind("GET a history page", Of(fromDue, k => k == (byte)Read.History))],
            MemorySamples = samples,
            ServiceCpu = cpuAfter - cpuBefore,
            PollFromSend = Kind("read, from send (not due)", Of(fromSend, IsRead)),
            ServerReads = serverBefore is not null && serverAfter is not null ? serverAfter.Minus(serverBefore) : null,
            GeneratorCpu = generatorCpu,
            LoadAverageAfter = loadAverage,
            ServiceGcPause = pauseAfter - pauseBefore,
            LiveHeaps = live,
            SendSlip = Kind("send slip", Slips()),
            Stalls = LoadReport.FindStalls(SlowReadSends(10), 10),
            ServiceCollections = collectionsAfter - collectionsBefore,
            GeneratorGc = generatorGc,
        };
    }

    /// <summary>A request's kind in <c>kinds[]</c>: 0 until it completes, so one that never did counts nowhere.</summary>
    private const byte NotDone = 0, SubmitKind = 4;

    private enum Read : byte { Fit = 1, List, History }

    /// <summary>A fit to read, its addresses built once rather than per request.</summary>
    private sealed class FitTarget(Uri baseUrl, string id)
    {
        public Uri Fit { get; } = new(baseUrl, $"/v1/fits/{id}");
        public Uri History0 { get; } = new(baseUrl, $"/v1/fits/{id}/history?offset=0&limit=50");
        public Uri History50 { get; } = new(baseUrl, $"/v1/fits/{id}/history?offset=50&limit=50");
    }

    /// <summary>
    /// The service's resident memory (/proc) and managed heap (<c>dotnet_gc_last_collection_heap_size_bytes</c> on its
    /// <c>/metrics</c>, summed over generations) every <see cref="LoadOptions.RssEvery"/>, until <paramref name="stop"/>.
    /// </summary>
    private static async Task<IReadOnlyList<MemorySample>> SampleMemoryAsync(HttpClient http, LoadOptions options, Stopwatch clock, CancellationToken stop)
    {
        var samples = new List<MemorySample>();
        using var timer = new PeriodicTimer(options.RssEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                samples.Add(new MemorySample(clock.Elapsed, Rss(options.ServicePid), await ManagedHeapAsync(http, stop)));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        return samples;
    }

    /// <summary>
    /// The service's live heap every <see cref="LoadOptions.LiveHeapEvery"/> (a full GC asked for each time), until
    /// <paramref name="stop"/>; none without a process id or an interval.
    /// </summary>
    private static async Task<IReadOnlyList<LiveHeapSample>> SampleLiveHeapAsync(HttpClient http, LoadOptions options, Stopwatch clock, CancellationToken stop)
    {
        var samples = new List<LiveHeapSample>();
        if (options.ServicePid is not { } pid || options.LiveHeapEvery is not { } every || every <= TimeSpan.Zero) return samples;
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                if (await ServiceHeap.AfterFullGcAsync(pid, http, TimeSpan.FromSeconds(30), stop) is { } heap) samples.Add(new LiveHeapSample(clock.Elapsed, heap.Bytes));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        return samples;
    }

    /// <summary>The service's managed heap after its last GC, in bytes; null when its /metrics does not show it.</summary>
    public static async Task<long?> ManagedHeapAsync(HttpClient http, CancellationToken ct) => (await ServiceHeap.ScrapeAsync(http, ct))?.Bytes;

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

    private static HttpRequestMessage Submit(Uri baseUrl, string? bearer)
    {
        var content = new ByteArrayContent(FitBody);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
        return WithKey(new HttpRequestMessage(HttpMethod.Post, new Uri(baseUrl, "/v1/fits")) { Content = content }, bearer);
    }

    private static HttpRequestMessage Get(Uri uri, string? bearer) => WithKey(new HttpRequestMessage(HttpMethod.Get, uri), bearer);

    private static HttpRequestMessage WithKey(HttpRequestMessage request, string? bearer)
    {
        // Unparsed: the header is sent as given, without building an AuthenticationHeaderValue per request.
        if (bearer is not null) request.Headers.TryAddWithoutValidation("Authorization", bearer);
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
