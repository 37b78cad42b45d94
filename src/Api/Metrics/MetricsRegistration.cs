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
            .AddPrometheusExporter());
        return services;
    }

    private sealed class MetricsAtStart(FitMetrics metrics) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.FromResult(metrics);
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
