using Serilog;
using Serilog.Configuration;
using Serilog.Formatting.Compact;

namespace FitService.Api.Hosting;

/// <summary>
/// <c>Log:Format</c>: <c>text</c> (readable console, the default) or <c>json</c> (compact JSON lines).
/// <c>Log:BufferSize</c>: log events waiting for the console at most (default 10,000); 0 writes each on the thread that logs it.
/// </summary>
public sealed class LogOptions
{
    public const string Section = "Log";
    public string Format { get; set; } = "text";

    /// <summary>
    /// The console is written by one background thread, so a request never waits for the console's lock or for a slow
    /// reader of standard output (a pipe whose reader lags blocks the writer): it only queues its line. When this many
    /// lines wait, the thread that logs waits too (no line is dropped). While lines keep coming, the thread writes them
    /// 10 ms at a time (<see cref="QueuedSink"/>), so a process killed outright (SIGKILL) loses the lines still queued, at
    /// most 10 ms' worth; an orderly stop writes them all.
    /// </summary>
    public int BufferSize { get; set; } = DefaultBufferSize;

    public const int DefaultBufferSize = 10_000;
}

public static class LoggingExtensions
{
    /// <summary>The second stage of Serilog's two-stage start-up: the real logger, from configuration.</summary>
    public static WebApplicationBuilder AddFitLogging(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(LogOptions.Section).Get<LogOptions>() ?? new LogOptions();
        var json = string.Equals(options.Format, "json", StringComparison.OrdinalIgnoreCase);
        void Console(LoggerSinkConfiguration to)
        {
            if (json) to.Console(new CompactJsonFormatter());
            else to.Console(outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj}{NewLine}{Exception}");
        }
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                .ReadFrom.Services(services)
                .Enrich.FromLogContext()
                .MinimumLevel.Override("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Warning)
                .MinimumLevel.Override("Hangfire", Serilog.Events.LogEventLevel.Information)
                // Npgsql logs every command it runs at Information: most of a worker's lines and a third more CPU per request.
                .MinimumLevel.Override("Npgsql", Serilog.Events.LogEventLevel.Warning);
            // Every request logs a line (UseSerilogRequestLogging): written on the request's thread, the console's lock was
            // most of the service's lock contention at 2,000 requests/s (docs/throughput.md, GET under load).
            if (options.BufferSize > 0) logger.WriteTo.Sink(LoggerSinkConfiguration.Wrap(console => new QueuedSink(console, options.BufferSize), Console));
            else Console(logger.WriteTo);
        },
        // Each host gets its own logger and the static one stays the bootstrap logger: freezing a shared static
        // logger races when several hosts start at once in one process (tests, benchmarks).
        preserveStaticLogger: true);
        return builder;
    }
}
