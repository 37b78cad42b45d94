using System.Diagnostics.Metrics;
using FitService.Api.Storage;
using Hangfire;
using Microsoft.Extensions.Options;

namespace FitService.Api.Metrics;

/// <summary>
/// The service's own instruments (meter <c>FitService</c>), exported at <c>/metrics</c> for Prometheus. Each process counts
/// what happens in it: API processes count submissions, worker processes starts, ends and engine steps; Prometheus sums them.
/// Every series carries the process's <c>role</c> (<c>embedded</c>, <c>api</c> or <c>worker</c>), so the roles can be told apart.
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

    private readonly KeyValuePair<string, object?> _role;

    /// <summary>Longest a scrape waits for the store's count of queued fits.</summary>
    private static readonly TimeSpan CountTimeout = TimeSpan.FromSeconds(2);

    public FitMetrics(IMeterFactory meters, JobStorage hangfire, IFitReader store, IOptions<ApiOptions> api, IOptions<WorkersOptions> workers)
    {
        _role = new("role", Role(api.Value.Enabled, workers.Value.Count));
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
            description: "Jobs waiting in each Hangfire queue (on PostgreSQL small fits wait in the store, not here: see fits_queued).");
        meter.CreateObservableGauge("fits_queued", () => Queued(store),
            description: "Fits waiting for a worker, in the store every process shares: the depth of the fit queue.");
        // Every documented counter is on /metrics from the start, at 0, in every role: an exporter shows a series only once
        // it has a measurement, and a series that appears late breaks rate() and "absent" alerts.
        foreach (var counter in new[] { _submitted, _steps, _webhookAttempts, _webhookFailures }) counter.Add(0, _role);
        foreach (var status in new[] { FitStatus.Succeeded, FitStatus.Failed, FitStatus.Cancelled })
            _ended.Add(0, _role, new KeyValuePair<string, object?>("status", status.ToWire()));
        _running.Add(0, _role);
    }

    /// <summary><c>embedded</c> (API and workers), <c>api</c> (no workers) or <c>worker</c> (no API).</summary>
    public static string Role(bool api, int workers) => (api, workers > 0) switch
    {
        (true, true) => "embedded",
        (true, false) => "api",
        _ => "worker",
    };

    public void Submitted(int count = 1) => _submitted.Add(count, _role);

    /// <summary>A worker took a fit (of any kind: descent, exact, finder run) off the queue for its first attempt, after <paramref name="queued"/>.</summary>
    public void Dequeued(TimeSpan queued) => _queueLatency.Record(Math.Max(0, queued.TotalSeconds), _role);

    /// <summary>The engine starts a descent.</summary>
    public void Started() => _running.Add(1, _role);

    /// <summary>The engine stopped running a fit, whatever the reason (ended, or handed back at shutdown).</summary>
    public void Stopped() => _running.Add(-1, _role);

    public void Ended(FitStatus status) => _ended.Add(1, _role, new KeyValuePair<string, object?>("status", status.ToWire()));

    public void StepsDone(long steps)
    {
        if (steps > 0) _steps.Add(steps, _role);
    }

    /// <summary>For the webhook sender: one delivery attempt made.</summary>
    public void WebhookAttempted() => _webhookAttempts.Add(1, _role);

    /// <summary>For the webhook sender: one delivery attempt failed.</summary>
    public void WebhookFailed() => _webhookFailures.Add(1, _role);

    private IEnumerable<Measurement<long>> Queued(IFitReader store)
    {
        try
        {
            using var timeout = new CancellationTokenSource(CountTimeout);
            return [new Measurement<long>(store.CountQueuedAsync(timeout.Token).GetAwaiter().GetResult(), _role)];
        }
        catch (Exception)
        {
            // As for the Hangfire gauge: a scrape does not fail because the store is slow or away.
            return [];
        }
    }

    private IEnumerable<Measurement<long>> QueueLengths(JobStorage storage)
    {
        Dictionary<string, long> lengths;
        try
        {
            var monitoring = storage.GetMonitoringApi();
            lengths = monitoring.Queues().ToDictionary(q => q.Name, q => q.Length);
            // Hangfire.PostgreSql lists only queues that hold a job: the queues some server serves are shown at 0 when empty.
            foreach (var queue in monitoring.Servers().SelectMany(server => server.Queues)) lengths.TryAdd(queue, 0);
        }
        catch (Exception)
        {
            // A scrape must not fail because the storage hiccups; the gauge is simply missing this time.
            return [];
        }
        return lengths.Select(q => new Measurement<long>(q.Value, _role, new KeyValuePair<string, object?>("queue", q.Key)));
    }
}
