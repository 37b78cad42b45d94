using FitService.Api.Metrics;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// No other host may run beside this test: OpenTelemetry listens to meters by name across the process, so the counts
/// of parallel tests' hosts would add to this one's.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "alone";
}

/// <summary>The Prometheus scrape at /metrics shows what the service did.</summary>
[Collection(AloneCollection.Name)]
public sealed class MetricsTests
{
    [Fact]
    public async Task MetricsCountAFitFromSubmissionToItsEnd()
    {
        await using var factory = new FitServiceFactory();
        var client = factory.CreateClient();

        var fit = await (await client.PostFit(TestApi.SmallFit(steps: 50))).ReadFit();
        // The webhook sender reports through these; a counter shows once it has counted.
        var fitMetrics = factory.Services.GetRequiredService<FitMetrics>();
        fitMetrics.WebhookAttempted();
        fitMetrics.WebhookAttempted();
        fitMetrics.WebhookFailed();
        Assert.Equal("succeeded", (await client.WaitForEnd(fit.Id)).Status);
        var metrics = await ScrapeUntilAsync(client, "fits_ended_total{");

        Assert.Contains("fits_submitted_total{otel_scope_name=\"FitService\",role=\"embedded\"} 1", metrics);
        Assert.Contains("fits_ended_total{otel_scope_name=\"FitService\",role=\"embedded\",status=\"succeeded\"} 1", metrics);
        Assert.Contains("fits_running{otel_scope_name=\"FitService\",role=\"embedded\"} 0", metrics);
        Assert.Contains("fits_queue_latency_seconds_bucket", metrics);
        Assert.Contains("fits_queue_latency_seconds_count{otel_scope_name=\"FitService\",role=\"embedded\"} 1", metrics);
        Assert.Contains("webhook_attempts_total{otel_scope_name=\"FitService\",role=\"embedded\"} 2", metrics);
        Assert.Contains("webhook_failures_total{otel_scope_name=\"FitService\",role=\"embedded\"} 1", metrics);
        Assert.Contains("engine_steps_total{otel_scope_name=\"FitService\",role=\"embedded\"} 50", metrics);
        Assert.Contains("hangfire_queue_length{otel_scope_name=\"FitService\",queue=\"fits\",role=\"embedded\"} 0", metrics);
        Assert.Contains("fits_queued{otel_scope_name=\"FitService\",role=\"embedded\"} 0", metrics);
        Assert.Contains("text/plain", (await client.GetAsync("/metrics")).Content.Headers.ContentType!.ToString());
        // Requests are timed inside the service, in buckets fine enough below 10 ms for a p99 (bench/LoadTest reads them).
        var requestDurations = metrics.Split('\n').Where(l => l.StartsWith("http_server_request_duration_seconds_bucket{", StringComparison.Ordinal)).ToList();
        Assert.Contains(requestDurations, l => l.Contains("http_route=\"/v1/fits/\"", StringComparison.Ordinal) && l.Contains("le=\"0.0005\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFitRunOnItsRequestIsNotCountedAsHavingWaitedInTheQueue()
    {
        await using var factory = new FitServiceFactory();
        var client = factory.CreateClient();

        // Small and waited for: it runs on its request (Workers:InlineFitWork) and is stored ended; no worker ever started it.
        var inline = await client.PostFit(TestApi.SmallFit(steps: 50), ("Prefer", "wait=60"));
        Assert.Equal(System.Net.HttpStatusCode.Created, inline.StatusCode);
        var ended = "fits_ended_total{otel_scope_name=\"FitService\",role=\"embedded\",status=\"succeeded\"}";
        var metrics = await ScrapeUntilAsync(client, ended + " 1");
        Assert.Contains(ended + " 1", metrics);
        Assert.DoesNotContain("fits_queue_latency_seconds_count", metrics);

        // Queued: a worker takes it off the queue, and that wait is what the histogram counts.
        var queued = await (await client.PostFit(TestApi.SmallFit(steps: 50))).ReadFit();
        Assert.Equal("succeeded", (await client.WaitForEnd(queued.Id)).Status);
        metrics = await ScrapeUntilAsync(client, ended + " 2");
        Assert.Contains("fits_submitted_total{otel_scope_name=\"FitService\",role=\"embedded\"} 2", metrics);
        Assert.Contains("fits_queue_latency_seconds_count{otel_scope_name=\"FitService\",role=\"embedded\"} 1", metrics);
    }

    [Fact]
    public async Task WebhookDeliveriesAreCountedAsTheyAreTried()
    {
        await using var receiver = await Webhooks.LoopbackReceiver.StartAsync();
        await using var factory = new FitServiceFactory(Webhooks.WebhookSettings.Loopback());
        var client = factory.CreateClient();
        var hook = receiver.NewHook(new Webhooks.Answer(503));

        await client.PostFit(Webhooks.WebhookSettings.FitWithWebhook(receiver.Url(hook)));
        await receiver.WaitForAsync(hook, 2);
        var metrics = await ScrapeUntilAsync(client, "webhook_attempts_total{otel_scope_name=\"FitService\",role=\"embedded\"} 2");

        Assert.Contains("webhook_attempts_total{otel_scope_name=\"FitService\",role=\"embedded\"} 2", metrics);
        Assert.Contains("webhook_failures_total{otel_scope_name=\"FitService\",role=\"embedded\"} 1", metrics);
    }

    [Fact]
    public async Task AnApiProcessShowsItsRoleAndTheFitsWaitingForAWorker()
    {
        await using var factory = new FitServiceFactory(("Workers:Count", "0"));
        var client = factory.CreateClient();

        await client.PostFit(TestApi.SmallFit());
        await client.PostFit(TestApi.SmallFit());
        var metrics = await ScrapeUntilAsync(client, "fits_queued{otel_scope_name=\"FitService\",role=\"api\"} 2");

        Assert.Contains("fits_queued{otel_scope_name=\"FitService\",role=\"api\"} 2", metrics);
        Assert.Contains("fits_submitted_total{otel_scope_name=\"FitService\",role=\"api\"} 2", metrics);
    }

    [Fact]
    public async Task FitsEndedByCancellingTheirBatchAreCounted()
    {
        // No workers: the fits stay queued, so cancelling the batch is what ends them.
        await using var factory = new FitServiceFactory(("Workers:Count", "0"));
        var client = factory.CreateClient();
        var created = await client.PostAsync("/v1/batches", TestApi.JsonBody(
            """{"defaults":{"loss":"mse","learningRate":0.1,"steps":5},"fits":[{"x":[1,2,3],"y":[1,2,3]},{"x":[1,2,3],"y":[3,2,1]},{"x":[1,2],"y":[0,0]}]}"""));
        created.EnsureSuccessStatusCode();
        var batchId = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();

        (await client.PostAsync($"/v1/batches/{batchId}/cancel", null)).EnsureSuccessStatusCode();
        var metrics = await ScrapeUntilAsync(client, "fits_ended_total{");

        Assert.Contains("fits_ended_total{otel_scope_name=\"FitService\",role=\"api\",status=\"cancelled\"} 3", metrics);
    }

    /// <summary>The exporter caches a scrape briefly: read until the expected series appears.</summary>
    private static async Task<string> ScrapeUntilAsync(HttpClient client, string expected)
    {
        var text = "";
        for (var i = 0; i < 50 && !text.Contains(expected); i++)
        {
            if (i > 0) await Task.Delay(100);
            text = await client.GetStringAsync("/metrics");
        }
        return text;
    }
}
