using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;

namespace FitService.LoadTest;

/// <summary>The service's managed heap right after a full, blocking GC that this generator asked for.</summary>
/// <param name="Bytes">The heap's size after that GC (all generations, the large and pinned object heaps): what was live.</param>
/// <param name="Gen2Collections">The service's gen2 collections so far, that one included.</param>
public sealed record LiveHeap(long Bytes, long Gen2Collections);

/// <summary>
/// Live bytes, not the heap "after the last GC": that figure holds whatever the last collection (most often a gen0 or
/// gen1 one) did not look at, so a gen2 that the GC has not yet found worth collecting reads as growth. A full GC is
/// asked for the way <c>dotnet-gcdump</c> asks for one (an EventPipe session with the runtime's <c>GCHeapCollect</c>
/// keyword, over the diagnostics socket of a process on this machine), without the heap walk, and the size is read from
/// the service's <c>/metrics</c> once its gen2 count shows that GC.
/// </summary>
public static class ServiceHeap
{
    private const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";

    /// <summary>The runtime's keyword that makes it collect the whole heap when a session enables it.</summary>
    private const long GCHeapCollectKeyword = 0x800000;

    private const string HeapSize = "dotnet_gc_last_collection_heap_size_bytes";
    private const string Collections = "dotnet_gc_collections_total";
    private const string PauseTime = "dotnet_gc_pause_time_seconds_total";

    /// <summary>
    /// Forces a full GC in process <paramref name="pid"/> and reads its heap size after it from <paramref name="http"/>'s
    /// <c>/metrics</c>; null when the process cannot be reached or its /metrics does not show that GC within
    /// <paramref name="timeout"/>.
    /// </summary>
    public static async Task<LiveHeap?> AfterFullGcAsync(int pid, HttpClient http, TimeSpan timeout, CancellationToken ct = default)
    {
        if (await ScrapeAsync(http, ct) is not { } before) return null;
        EventPipeSession session;
        try
        {
            session = await new DiagnosticsClient(pid).StartEventPipeSessionAsync(
                [new EventPipeProvider(RuntimeProvider, EventLevel.Informational, GCHeapCollectKeyword)], requestRundown: false, circularBufferMB: 16, ct);
        }
        catch (Exception e) when (e is ServerNotAvailableException or UnsupportedCommandException or ServerErrorException or TimeoutException)
        {
            return null;
        }
        using (session)
        {
            // The session's events are not wanted, but they must be read, or the runtime's buffer fills and blocks it.
            var drain = session.EventStream.CopyToAsync(Stream.Null, ct);
            try
            {
                var deadline = DateTime.UtcNow + timeout;
                while (DateTime.UtcNow < deadline)
                {
                    // The heap is read in the same scrape that shows the gen2 count grown: a later scrape could follow a gen0 GC.
                    if (await ScrapeAsync(http, ct) is { } after && after.Gen2Collections > before.Gen2Collections) return after;
                    await Task.Delay(20, ct);
                }
                return null;
            }
            finally
            {
                try
                {
                    await session.StopAsync(ct);
                }
                catch (Exception e) when (e is ServerNotAvailableException or EndOfStreamException or IOException or TimeoutException)
                {
                }
                try
                {
                    await drain;
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
                {
                }
            }
        }
    }

    /// <summary>The heap after the last GC and the gen2 count, from one scrape; null when /metrics does not show them.</summary>
    public static async Task<LiveHeap?> ScrapeAsync(HttpClient http, CancellationToken ct)
    {
        string text;
        try
        {
            text = await http.GetStringAsync("/metrics", ct);
        }
        catch (HttpRequestException)
        {
            return null;
        }
        return Parse(text);
    }

    /// <summary>The service's garbage collections so far, all generations (<c>dotnet_gc_collections_total</c>); null when not shown.</summary>
    public static async Task<long?> CollectionsAsync(HttpClient http, CancellationToken ct)
    {
        try
        {
            var lines = (await http.GetStringAsync("/metrics", ct)).Split('\n').Where(l => Is(l, Collections)).ToArray();
            return lines.Length == 0 ? null : lines.Sum(l => (long)double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>The service's GC pause time so far (<c>dotnet_gc_pause_time_seconds_total</c> on its /metrics); null when not shown.</summary>
    public static async Task<TimeSpan?> PauseTimeAsync(HttpClient http, CancellationToken ct)
    {
        try
        {
            var line = (await http.GetStringAsync("/metrics", ct)).Split('\n').FirstOrDefault(l => Is(l, PauseTime));
            return line is null ? null : TimeSpan.FromSeconds(double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>
    /// The sum of <c>dotnet_gc_last_collection_heap_size_bytes</c> over generations and the gen2 value of
    /// <c>dotnet_gc_collections_total</c> in a Prometheus text <paramref name="metrics"/>; null when either is missing.
    /// </summary>
    public static LiveHeap? Parse(string metrics)
    {
        long? bytes = null, gen2 = null;
        foreach (var line in metrics.Split('\n'))
        {
            if (Is(line, HeapSize)) bytes = (bytes ?? 0) + Value(line);
            else if (Is(line, Collections) && line.Contains("gc_heap_generation=\"gen2\"", StringComparison.Ordinal)) gen2 = Value(line);
        }
        return bytes is { } b && gen2 is { } g ? new LiveHeap(b, g) : null;

        static long Value(string line) => (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>Whether <paramref name="line"/> is a sample of the metric <paramref name="name"/> (not of one whose name it begins).</summary>
    private static bool Is(string line, string name) =>
        line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is '{' or ' ';
}
