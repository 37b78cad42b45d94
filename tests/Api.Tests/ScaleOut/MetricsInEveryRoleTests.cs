using System.Net;
using System.Text.RegularExpressions;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// /metrics as a monitoring system sees it: real API-only and worker-only processes on one PostgreSQL database, scraped
/// from outside, against the series docs/scale-out.md lists.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed partial class MetricsInEveryRoleTests(PostgresCluster cluster)
{
    /// <summary>The series named in the first column of the table under "## Metrics" in docs/scale-out.md, with their kind (second column).</summary>
    private static List<(string Name, string Kind)> DocumentedSeries()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot.Path, "docs", "scale-out.md"));
        var table = lines.SkipWhile(l => l != "## Metrics").SkipWhile(l => !l.StartsWith("| series", StringComparison.Ordinal)).Skip(2)
            .TakeWhile(l => l.StartsWith('|'));
        return [.. table.SelectMany(row => SeriesName().Matches(row.Split('|')[1]).Select(m => (m.Groups[1].Value, row.Split('|')[2].Trim())))];
    }

    [GeneratedRegex(@"`([a-z_]+)(?:\{[^}]*\})?`")]
    private static partial Regex SeriesName();

    private static async Task<string> ScrapeUntilAsync(ServiceProcess process, Func<string, bool> done)
    {
        var text = "";
        for (var i = 0; i < 300 && !done(text); i++)
        {
            if (i > 0) await Task.Delay(200);
            text = await process.Client.GetStringAsync("/metrics");
        }
        return text;
    }

    private static bool Has(string metrics, string series, string role, string? label = null) =>
        metrics.Split('\n').Any(line => line.StartsWith(series + "{", StringComparison.Ordinal) && line.Contains($"role=\"{role}\"", StringComparison.Ordinal)
            && (label is null || line.Contains(label, StringComparison.Ordinal)));

    [PostgresFact]
    public async Task EveryDocumentedSeriesIsServedAtZeroByEveryRoleBeforeAnyWorkAndTheQueueLatencyCountsEveryKindOfFit()
    {
        var documented = DocumentedSeries();
        Assert.Contains(documented, s => s.Name == "webhook_failures_total");
        Assert.Contains(documented, s => s.Name == "hangfire_queue_length");
        Assert.Contains(documented, s => s.Name == "fits_queue_latency_seconds" && s.Kind == "histogram");
        var database = await cluster.CreateDatabaseAsync("metrics");
        string[] shared = ["Storage:Provider=postgres", $"Storage:ConnectionString={database}"];
        await using var worker = await ServiceProcess.StartAsync([.. shared, "Api:Enabled=false", "Workers:Count=1"]);
        // Small waited fits would run on the API's request (Workers:InlineFitWork) and never reach the worker's queue.
        await using var api = await ServiceProcess.StartAsync([.. shared, "Workers:Count=0", "Workers:InlineFitWork=0"]);

        // A histogram has no series before its first sample; everything else is there, at 0, with the process's role.
        var counted = documented.Where(s => s.Kind != "histogram").Select(s => s.Name).ToList();
        foreach (var (process, role) in new[] { (api, "api"), (worker, "worker") })
        {
            var metrics = await ScrapeUntilAsync(process, text => counted.All(s => Has(text, s, role)) && Has(text, "hangfire_queue_length", role, "queue=\"webhooks\""));
            Assert.All(counted, series => Assert.True(Has(metrics, series, role), $"{series} with role {role} missing from\n{metrics}"));
            Assert.True(Has(metrics, "fits_ended_total", role, "status=\"failed\"} 0"), metrics);
            // Empty queues are shown at 0, not left out (the storage lists only queues holding a job).
            Assert.True(Has(metrics, "hangfire_queue_length", role, "queue=\"fits\""), metrics);
            Assert.True(Has(metrics, "hangfire_queue_length", role, "queue=\"webhooks\""), metrics);
        }

        // A fit with no descent (the exact solver) waited in the queue like any other.
        var exact = await api.Client.PostFit(new { x = new[] { 0.0, 1, 2, 3 }, y = new[] { 1.0, 3, 5, 7.5 }, degree = 1, solver = "exact" }, ("Prefer", "wait=60"));
        Assert.Equal(HttpStatusCode.Created, exact.StatusCode);
        var after = await ScrapeUntilAsync(worker, text => Has(text, "fits_queue_latency_seconds_count", "worker", "} 1"));
        Assert.True(Has(after, "fits_queue_latency_seconds_count", "worker", "} 1"), after);
        Assert.True(Has(after, "fits_ended_total", "worker", "status=\"succeeded\"} 1"), after);
    }
}
