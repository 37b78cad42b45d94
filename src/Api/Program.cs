using FitService.Api.Batches;
using FitService.Api.Evaluation;
using FitService.Api.Extensions;
using FitService.Api.Fits;
using FitService.Api.LearningRates;
using FitService.Api.Plots;
using Hangfire;
using Serilog;

Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.UseDefaultUrl("http://localhost:5080");
    builder.AddFitLogging();
    builder.AddFitService();

    var app = builder.Build();
    app.UseSerilogRequestLogging();
    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.MapHealth();
    if (app.ApiEnabled())
    {
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseFitSwagger();
        app.MapHangfireDashboard("/hangfire");
        app.MapFits();
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
