using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using FitService.LoadTest;

// dotnet run -c Release --project bench/LoadTest -- --start src/Api/bin/Release/net10.0/publish/FitService.Api.dll [--warm-up 20]
// dotnet run -c Release --project bench/LoadTest -- --url http://127.0.0.1:5080 [--key fs_…] [--pid N]
// Only loopback URLs are accepted: this generator must never load anything but this machine.
var arguments = args.ToList();
string? Arg(string name, string? fallback = null) => arguments.IndexOf(name) is var i and >= 0 && i + 1 < arguments.Count ? arguments[i + 1] : fallback;
IEnumerable<string> Values(string name) => arguments.Select((a, i) => (a, i)).Where(p => p.a == name && p.i + 1 < arguments.Count).Select(p => arguments[p.i + 1]);

var rate = double.Parse(Arg("--rate", "2000")!, System.Globalization.CultureInfo.InvariantCulture);
// 60 s by default; --duration 600 for the 10-minute record (memory growth shows over minutes, not seconds).
var duration = TimeSpan.FromSeconds(double.Parse(Arg("--duration", "60")!, System.Globalization.CultureInfo.InvariantCulture));
var requests = int.Parse(Arg("--requests", ((int)(rate * duration.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture))!);
var submitFraction = double.Parse(Arg("--submit-fraction", "0.05")!, System.Globalization.CultureInfo.InvariantCulture);
// Of the reads: --list-fraction (pages of the list) and --history-fraction (pages of a history); the rest read a fit.
var listFraction = double.Parse(Arg("--list-fraction", "0.15")!, System.Globalization.CultureInfo.InvariantCulture);
var historyFraction = double.Parse(Arg("--history-fraction", "0.15")!, System.Globalization.CultureInfo.InvariantCulture);
var tenants = int.Parse(Arg("--tenants", "4")!);
var warmUp = TimeSpan.FromSeconds(double.Parse(Arg("--warm-up", "0")!, System.Globalization.CultureInfo.InvariantCulture));
// The service's RSS and managed heap are sampled this often (seconds); the growth over the second half is printed.
var memoryEvery = TimeSpan.FromSeconds(double.Parse(Arg("--memory-every", "10")!, System.Globalization.CultureInfo.InvariantCulture));
// The live heap (after a full GC asked for) this often during the run, for its slope over the second half; a quarter of
// the run by default (five points: start, 1/4, 1/2, 3/4, end); 0 for the start and end only.
var liveEvery = TimeSpan.FromSeconds(double.Parse(Arg("--live-every", (duration.TotalSeconds / 4).ToString(System.Globalization.CultureInfo.InvariantCulture))!, System.Globalization.CultureInfo.InvariantCulture));

Process? service = null;
string? data = null;
Uri url;
var keys = new List<string>();
int? pid = Arg("--pid") is { } p ? int.Parse(p) : null;
if (Arg("--start") is { } dll)
{
    // Start the published service on a free loopback port, with its own data folder and one key per tenant.
    data = Directory.CreateTempSubdirectory("fitservice-load-").FullName;
    // --port N: a port of one's own on a shared machine; a free one otherwise.
    using var listener = new TcpListener(IPAddress.Loopback, int.Parse(Arg("--port", "0")!));
    listener.Start();
    var port = ((IPEndPoint)listener.LocalEndpoint).Port;
    listener.Stop();
    url = new Uri($"http://127.0.0.1:{port}");
    var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(dll))! };
    foreach (var a in new[] { Path.GetFullPath(dll), $"--urls={url}", $"--Storage:ConnectionString=Data Source={Path.Combine(data, "fits.db")}", "--Log:Format=json" }) info.ArgumentList.Add(a);
    for (var t = 0; t < tenants; t++)
    {
        var key = "fs_load_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        keys.Add(key);
        info.ArgumentList.Add($"--Auth:Keys:{t}:Tenant=load{t}");
        info.ArgumentList.Add($"--Auth:Keys:{t}:Hash={Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))}");
    }
    info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
    // --service-arg X and --service-env NAME=VALUE (each repeatable): a setting or runtime knob to compare, e.g.
    // --service-env DOTNET_gcServer=0 or --service-arg --Serilog:MinimumLevel:Default=Warning.
    foreach (var a in Values("--service-arg")) info.ArgumentList.Add(a);
    foreach (var e in Values("--service-env")) info.Environment[e[..e.IndexOf('=')]] = e[(e.IndexOf('=') + 1)..];
    service = Process.Start(info)!;
    service.OutputDataReceived += (_, _) => { };
    service.ErrorDataReceived += (_, _) => { };
    service.BeginOutputReadLine();
    service.BeginErrorReadLine();
    pid = service.Id;
    using var probe = new HttpClient { BaseAddress = url };
    for (var i = 0; ; i++)
    {
        try { if ((await probe.GetAsync("/health/ready")).IsSuccessStatusCode) break; } catch (HttpRequestException) { }
        if (i > 300 || service.HasExited) throw new InvalidOperationException("the service did not start");
        await Task.Delay(100);
    }
}
else
{
    url = new Uri(Arg("--url", "http://127.0.0.1:5080")!);
    keys.AddRange(Values("--key"));
}
if (!IPAddress.TryParse(url.Host, out var address) || !IPAddress.IsLoopback(address))
{
    Console.Error.WriteLine($"refusing to load {url}: only loopback addresses (127.0.0.1, [::1]) are allowed");
    return 2;
}

using var client = LoadRun.CreateClient(url);
try
{
    Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadRun.LoadAverage()}");
    if (pid is { } servicePid) Console.WriteLine($"service process {servicePid}");
    Console.WriteLine($"{requests} requests at {rate}/s (at most {duration.TotalSeconds} s), {submitFraction:P0} submits, {Math.Max(1, keys.Count)} tenant(s), against {url}");
    if (warmUp > TimeSpan.Zero)
    {
        // A freshly started service spends its first ~10 s compiling (tiered JIT): at 2,000 requests/s that queue is the
        // whole p99. Run the same mix for a while first and keep only what follows, as a capacity test of a running service.
        var warm = await LoadRun.RunAsync(new LoadOptions
        {
            BaseUrl = url, Requests = (int)(rate * warmUp.TotalSeconds), RatePerSecond = rate, MaxDuration = warmUp, SubmitFraction = submitFraction, ListFraction = listFraction, HistoryFraction = historyFraction, ApiKeys = keys, ServicePid = pid, Client = client, RssEvery = memoryEvery,
        });
        Console.WriteLine($"warm-up: {warmUp.TotalSeconds:F0} s at {rate}/s, not counted (its read p99 was {warm.Poll.P99Ms:F0} ms)");
    }
    // The live heap before and after the measured run, each after a full GC asked for here (outside the measured window,
    // so its pause is in no latency): a heap that keeps growing after full GCs is a leak; one that grows only between them is not.
    var fullGc = pid is { } local && !arguments.Contains("--no-full-gc") ? local : (int?)null;
    var liveAtStart = fullGc is { } p0 ? await ServiceHeap.AfterFullGcAsync(p0, client, TimeSpan.FromSeconds(30)) : null;
    var report = await LoadRun.RunAsync(new LoadOptions
    {
        BaseUrl = url, Requests = requests, RatePerSecond = rate, MaxDuration = duration, SubmitFraction = submitFraction, ListFraction = listFraction, HistoryFraction = historyFraction, ApiKeys = keys, ServicePid = pid, Client = client, RssEvery = memoryEvery,
        LiveHeapEvery = fullGc is not null && liveEvery > TimeSpan.Zero ? liveEvery : null,
    });
    var liveAtEnd = fullGc is { } p1 ? await ServiceHeap.AfterFullGcAsync(p1, client, TimeSpan.FromSeconds(30)) : null;
    report = report with
    {
        LiveHeapAtStart = liveAtStart,
        LiveHeapAtEnd = liveAtEnd,
        LiveHeaps = [.. new[] { liveAtStart is null ? null : new LiveHeapSample(TimeSpan.Zero, liveAtStart.Bytes) }.OfType<LiveHeapSample>(),
                     .. report.LiveHeaps, .. new[] { liveAtEnd is null ? null : new LiveHeapSample(report.Elapsed, liveAtEnd.Bytes) }.OfType<LiveHeapSample>()],
    };
    Console.WriteLine(report.ToMarkdown());
    Console.WriteLine(report.Goal5Summary());
    // The generator's own cost over its whole life (seeding, warm-up and run): what it takes from the cores it shares.
    Console.WriteLine($"generator process: {GC.GetTotalAllocatedBytes() / 1048576.0:0} MB allocated ({GC.GetTotalAllocatedBytes() / Math.Max(1.0, report.Sent + (double)(rate * warmUp.TotalSeconds)):0} bytes a request), " +
                      $"GC pauses {GC.GetTotalPauseDuration().TotalMilliseconds:0} ms (collections gen0 {GC.CollectionCount(0)}, gen1 {GC.CollectionCount(1)}, gen2 {GC.CollectionCount(2)}), " +
                      $"CPU {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:0.0} s");
    return report.ServerErrors == 0 && report.TransportErrors == 0 ? 0 : 1;
}
finally
{
    if (service is { HasExited: false })
    {
        service.Kill();
        await service.WaitForExitAsync();
    }
    if (data is not null) try { Directory.Delete(data, recursive: true); } catch (IOException) { }
}
