using Serilog;
using Serilog.Formatting.Compact;

namespace FitService.Api.Hosting;

/// <summary><c>Log:Format</c>: <c>text</c> (readable console, the default) or <c>json</c> (compact JSON lines).</summary>
public sealed class LogOptions
{
    public const string Section = "Log";
    public string Format { get; set; } = "text";
}

public static class LoggingExtensions
{
    /// <summary>The second stage of Serilog's two-stage start-up: the real logger, from configuration.</summary>
    public static WebApplicationBuilder AddFitLogging(this WebApplicationBuilder builder)
    {
        var format = builder.Configuration.GetSection(LogOptions.Section).Get<LogOptions>()?.Format ?? "text";
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                .ReadFrom.Services(services)
                .Enrich.FromLogContext()
                .MinimumLevel.Override("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Warning)
                .MinimumLevel.Override("Hangfire", Serilog.Events.LogEventLevel.Information)
                // Npgsql logs every command it runs at Information: most of a worker's lines and a third more CPU per request.
                .MinimumLevel.Override("Npgsql", Serilog.Events.LogEventLevel.Warning);
            if (string.Equals(format, "json", StringComparison.OrdinalIgnoreCase)) logger.WriteTo.Console(new CompactJsonFormatter());
            else logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj}{NewLine}{Exception}");
        },
        // Each host gets its own logger and the static one stays the bootstrap logger: freezing a shared static
        // logger races when several hosts start at once in one process (tests, benchmarks).
        preserveStaticLogger: true);
        return builder;
    }
}
