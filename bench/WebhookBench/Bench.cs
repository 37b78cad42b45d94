// Fit end → webhook arrival latency, in one process on loopback: the service (embedded SQLite, Hangfire in memory)
// and a Kestrel receiver on 127.0.0.1. Usage: dotnet run -c Release --project bench/WebhookBench -- [fits] [parallel]
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using FitService.Api.Webhooks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;

namespace FitService.WebhookBench;

internal static class Bench
{
    public static async Task<int> Main(string[] args)
    {
        var fits = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
        var parallel = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 16;
        var secret = WebhookSigner.NewSecret();

        // The receiver: verifies each signature and notes when each event arrived.
        var arrivals = new ConcurrentBag<(string Id, DateTimeOffset FinishedAt, DateTimeOffset At, bool Valid)>();
        var receiverBuilder = WebApplication.CreateSlimBuilder();
        receiverBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        receiverBuilder.Logging.ClearProviders();
        var receiver = receiverBuilder.Build();
        receiver.MapPost("/hook", async (HttpContext http) =>
        {
            var at = DateTimeOffset.UtcNow;
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            var id = http.Request.Headers["webhook-id"].ToString();
            var valid = WebhookSigner.Verify(secret, id, long.Parse(http.Request.Headers["webhook-timestamp"].ToString(), CultureInfo.InvariantCulture),
                System.Text.Encoding.UTF8.GetBytes(body), http.Request.Headers["webhook-signature"].ToString());
            var finished = JsonDocument.Parse(body).RootElement.GetProperty("data").GetProperty("finishedAt").GetDateTimeOffset();
            arrivals.Add((id, finished, at, valid));
            return Results.NoContent();
        });
        await receiver.StartAsync();
        var hookUrl = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook";

        var folder = Directory.CreateTempSubdirectory("fitservice-bench-").FullName;
        // No test manifest here: tell WebApplicationFactory where the service's content root is.
        Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_FITSERVICE_API", folder);
        using var service = new BenchService(folder, secret);
        var client = service.CreateClient();

        var clock = Stopwatch.StartNew();
        var body = new
        {
            x = new[] { -2.0, -1.0, 0.0, 1.0, 2.0 }, y = new[] { 9.0, 2.0, 1.0, 6.0, 17.0 },
            degree = 2, loss = "mse", learningRate = 0.01, steps = 100, webhook = new { url = hookUrl },
        };
        await Parallel.ForEachAsync(Enumerable.Range(0, fits), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (_, ct) =>
            (await client.PostAsJsonAsync("/v1/fits", body, ct)).EnsureSuccessStatusCode());
        var submitted = clock.Elapsed;
        while (arrivals.Select(a => a.Id).Distinct().Count() < fits && clock.Elapsed < TimeSpan.FromMinutes(5)) await Task.Delay(50);
        var allArrived = clock.Elapsed;
        await Task.Delay(3000); // room for any duplicate to show up

        var list = arrivals.ToList();
        var latencies = list.GroupBy(a => a.Id).Select(g => (g.Min(a => a.At) - g.First().FinishedAt).TotalMilliseconds).Order().ToArray();
        double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
        Console.WriteLine($"fits {fits}, parallel submitters {parallel}, cores {Environment.ProcessorCount}");
        Console.WriteLine($"submitted in {submitted.TotalSeconds:0.0} s, all events in {allArrived.TotalSeconds:0.0} s");
        Console.WriteLine($"events received {list.Count}, distinct {latencies.Length}, duplicates {list.Count - latencies.Length}, bad signatures {list.Count(a => !a.Valid)}");
        Console.WriteLine($"fit end -> receiver (ms): p50 {P(0.50):0.0}  p95 {P(0.95):0.0}  p99 {P(0.99):0.0}  max {latencies[^1]:0.0}");

        await receiver.StopAsync();
        service.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
        return list.Count - latencies.Length == 0 && latencies.Length == fits ? 0 : 1;
    }
}

internal sealed class BenchService(string folder, string secret) : WebApplicationFactory<global::Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Storage:ConnectionString", $"Data Source={Path.Combine(folder, "fits.db")}");
        builder.UseSetting("Webhooks:SigningSecret", secret);
        builder.UseSetting("Webhooks:AllowedHosts:0", "127.0.0.1");
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
    }
}
