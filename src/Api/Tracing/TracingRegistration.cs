using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FitService.Api.Tracing;

/// <summary><c>Tracing:…</c>: where spans go. With no endpoint they are made (so <c>traceparent</c> travels) but not exported.</summary>
public sealed class TracingOptions
{
    public const string Section = "Tracing";

    /// <summary>An OTLP collector (e.g. <c>http://otel-collector:4317</c>); spans are exported there when set.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary><c>Grpc</c> (default) or <c>HttpProtobuf</c>.</summary>
    public OtlpExportProtocol OtlpProtocol { get; set; } = OtlpExportProtocol.Grpc;
}

public static class TracingRegistration
{
    /// <summary>
    /// Spans of incoming requests (ASP.NET Core's own source) and of the service's work (<see cref="FitTracing"/>),
    /// exported over OTLP when <c>Tracing:OtlpEndpoint</c> is set.
    /// </summary>
    public static WebApplicationBuilder AddFitTracing(this WebApplicationBuilder builder, string role)
    {
        var options = builder.Configuration.GetSection(TracingOptions.Section).Get<TracingOptions>() ?? new TracingOptions();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("fitservice").AddAttributes([new("service.role", role)]))
            .WithTracing(tracing =>
            {
                tracing.AddSource(FitTracing.SourceName, "Microsoft.AspNetCore");
                if (options.OtlpEndpoint is { } endpoint)
                {
                    tracing.AddOtlpExporter(otlp =>
                    {
                        otlp.Endpoint = endpoint;
                        otlp.Protocol = options.OtlpProtocol;
                    });
                }
            });
        return builder;
    }
}
