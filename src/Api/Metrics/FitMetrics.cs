using System.Diagnostics.Metrics;
using FitService.Api.Storage;
using Hangfire;

namespace FitService.Api.Metrics;

/// <summary>
/// The service's own instruments (meter <c>FitService</c>), exported at <c>/metrics</c> for Prometheus. Each process counts
/// what happens in it: API processes count submissions, worker processes starts, ends and engine steps; Prometheus sums them.
/// </summary>
public sealed class FitMetrics
{
    public const string MeterName = "FitService";

    /// <summary>Histogram buckets of the queue latency, in seconds.</summary>
    public static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

    private readonly Counter<long> _submitted;
    private readonly Counter<long> _ended;
    private readonly UpDownCounter<long> _running;
    private readonly Histogram<double> _queueLatency;
    private readonly Counter<long> _steps;
    private readonly Counter<long> _webhookAttempts;
    private readonly Counter<long> _webhookFailures;

    public FitMetrics(IMeterFactory meters, JobStorage hangfire)
    {
        var meter = meters.Create(MeterName);
        _submitted = meter.CreateCounter<long>("fits_submitted", description: "Fits accepted (202/201 of POST /v1/fits), not counting idempotent repeats.");
        _ended = meter.CreateCounter<long>("fits_ended", description: "Fits that ended, by status (succeeded, failed, cancelled).");
        _running = meter.CreateUpDownCounter<long>("fits_running", description: "Fits the engine is running now.");
        _queueLatency = meter.CreateHistogram<double>("fits_queue_latency", unit: "s",
            description: "Time from a fit's submission to its first start by a worker.");
        _steps = meter.CreateCounter<long>("engine_steps", description: "Gradient-descent steps done by the engine; its rate is steps per second.");
        _webhookAttempts = meter.CreateCounter<long>("webhook_attempts", description: "Webhook delivery attempts.");
        _webhookFailures = meter.CreateCounter<long>("webhook_failures", description: "Webhook delivery attempts that failed (timeout, network error, non-2xx).");
        meter.CreateObservableGauge("hangfire_queue_length", () => QueueLengths(hangfire),
            description: "Jobs waiting in each Hangfire queue.");
    }

    public void Submitted(int count = 1) => _submitted.Add(count);

    /// <summary>A worker starts running a fit; <paramref name="queued"/> is given on its first start only.</summary>
    public void Started(TimeSpan? queued)
    {
        _running.Add(1);
        if (queued is { } wait) _queueLatency.Record(Math.Max(0, wait.TotalSeconds));
    }

    /// <summary>The engine stopped running a fit, whatever the reason (ended, or handed back at shutdown).</summary>
    public void Stopped() => _running.Add(-1);

    public void Ended(FitStatus status) => _ended.Add(1, new KeyValuePair<string, object?>("status", status.ToWire()));

    public void StepsDone(long steps)
    {
        if (steps > 0) _steps.Add(steps);
    }

    /// <summary>For the webhook sender: one delivery attempt made.</summary>
    public void WebhookAttempted() => _webhookAttempts.Add(1);

    /// <summary>For the webhook sender: one delivery attempt failed.</summary>
    public void WebhookFailed() => _webhookFailures.Add(1);

    private static IEnumerable<Measurement<long>> QueueLengths(JobStorage storage)
    {
        IList<Hangfire.Storage.Monitoring.QueueWithTopEnqueuedJobsDto> queues;
        try
        {
            queues = storage.GetMonitoringApi().Queues();
        }
        catch (Exception)
        {
            // A scrape must not fail because the storage hiccups; the gauge is simply missing this time.
            return [];
        }
        return queues.Select(q => new Measurement<long>(q.Length, new KeyValuePair<string, object?>("queue", q.Name)));
    }
}
