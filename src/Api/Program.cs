using FitService.Api.Batches;
using FitService.Api.Extensions;
using FitService.Api.Fits;
using FitService.Api.Security;
using Serilog;

if (KeysCommand.IsKeysCommand(args)) return KeysCommand.Run(args, Console.Out, Console.Error);

Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
try
{
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

    var app = builder.Build();
    app.UseSerilogRequestLogging();
    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.UseFitSecurity();
    app.MapHealth();
    if (app.ApiEnabled())
    {
        app.UseFitSwagger();
        app.MapFitDashboard();
        app.MapFits();
        app.MapBatches();
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
