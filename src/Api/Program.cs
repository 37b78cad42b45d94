using FitService.Api.Batches;
using FitService.Api.Evaluation;
using FitService.Api.Fits;
using FitService.Api.Health;
using FitService.Api.Hosting;
using FitService.Api.Http;
using FitService.Api.LearningRates;
using FitService.Api.OpenApi;
using FitService.Api.Plots;
using FitService.Api.Security;
using FitService.Api.Webhooks;
using Serilog;

if (KeysCommand.IsKeysCommand(args)) return KeysCommand.Run(args, Console.Out, Console.Error);

Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
try
{
    HostingExtensions.PollConfigurationFiles();
    var builder = WebApplication.CreateBuilder(args);
    builder.UseDefaultUrl("http://localhost:5080");
    if (LocalMode.RefusalReason(builder.Configuration) is { } refusal)
    {
        Log.Fatal("FitService refuses to start: {Reason}", refusal);
        return 2;
    }
    builder.AddFitLogging();
    builder.AddFitService();
    builder.AddFitSecurity();
    builder.AddFitCors();

    var app = builder.Build();
    // From here on the static logger (Hangfire logs through it) is the configured one, not the bootstrap logger.
    Log.Logger = app.Services.GetRequiredService<Serilog.ILogger>();
    app.UseSerilogRequestLogging(o => o.Logger = app.Services.GetRequiredService<Serilog.ILogger>());
    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.UseFitCors();
    app.UseFitSecurity();
    app.MapHealth();
    app.MapPrometheusScrapingEndpoint("/metrics");
    if (app.ApiEnabled())
    {
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseFitSwagger();
        app.MapFitDashboard();
        app.MapFits();
        app.MapPredictions();
        app.MapFitEvents();
        app.MapWebhooks();
        app.MapBatches();
        app.MapPlots();
        app.MapEvaluate();
        app.MapLearningRateFinder();
    }
    app.Run();
    return 0;
}
catch (Exception e) when (e is not HostAbortedException)
{
    Log.Fatal(e, "FitService stopped because of an unexpected error");
    return 1;
}
finally
{
    Log.CloseAndFlush();
}

public partial class Program;
