using OpenTelemetry.Metrics;

namespace FitService.Api.Metrics;

public static class MetricsRegistration
{
    /// <summary>OpenTelemetry metrics of the meter <c>FitService</c>, for a Prometheus scrape at <c>/metrics</c>.</summary>
    public static IServiceCollection AddFitMetrics(this IServiceCollection services)
    {
        services.AddSingleton<FitMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(FitMetrics.MeterName)
            .AddView("fits_queue_latency", new ExplicitBucketHistogramConfiguration { Boundaries = FitMetrics.LatencyBuckets })
            .AddPrometheusExporter());
        return services;
    }
}
