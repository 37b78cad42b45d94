using OpenTelemetry.Metrics;

namespace FitService.Api.Metrics;

public static class MetricsRegistration
{
    /// <summary>OpenTelemetry metrics of the meter <c>FitService</c>, for a Prometheus scrape at <c>/metrics</c>.</summary>
    public static IServiceCollection AddFitMetrics(this IServiceCollection services)
    {
        services.AddSingleton<FitMetrics>();
        // Made at start, not by its first user: the gauges (fits_queued, which the worker autoscaler reads) must be on
        // /metrics of a process that has not yet submitted or run anything.
        services.AddHostedService<MetricsAtStart>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(FitMetrics.MeterName)
            .AddView("fits_queue_latency", new ExplicitBucketHistogramConfiguration { Boundaries = FitMetrics.LatencyBuckets })
            // ASP.NET Core's own request duration (http_server_request_duration_seconds), measured inside the server: with
            // buckets fine enough below 10 ms to tell a p99 of 5 ms from one of 20 ms (its default buckets start at 5 ms).
            .AddMeter(HostingMeterName)
            .AddView(RequestDuration, new ExplicitBucketHistogramConfiguration { Boundaries = RequestDurationBuckets })
            // The runtime's own meter (GC heap by generation, working set, thread pool, CPU: dotnet_* series), so that memory
            // over time can be read from /metrics rather than only from outside the process.
            .AddMeter(RuntimeMeterName)
            .AddPrometheusExporter());
        return services;
    }

    /// <summary>The meter of ASP.NET Core's hosting layer, whose <c>http.server.request.duration</c> times every request.</summary>
    public const string HostingMeterName = "Microsoft.AspNetCore.Hosting";

    /// <summary>The .NET runtime's built-in meter (<c>dotnet.gc.last_collection.heap.size</c>, <c>dotnet.process.memory.working_set</c>, …).</summary>
    public const string RuntimeMeterName = "System.Runtime";

    private const string RequestDuration = "http.server.request.duration";

    /// <summary>Histogram buckets of the request duration, in seconds.</summary>
    public static readonly double[] RequestDurationBuckets =
        [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private sealed class MetricsAtStart(FitMetrics metrics) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.FromResult(metrics);
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
