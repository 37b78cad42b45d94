using System.Text.Json;
using FitService.Api.Fits;
using FitService.Api.Metrics;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Engine;

namespace FitService.Api.Jobs;

/// <summary>
/// Runs one started fit through the engine: saves progress every <see cref="ProgressInterval"/> (which also renews a
/// lease in the shared store), publishes it, and stops on a cancel request. Shared by the one-fit job and the drain job.
/// </summary>
public sealed class FitRunner(
    IFitStore store,
    IFitSignals signals,
    FitMetrics metrics,
    TimeProvider clock,
    ILogger<FitRunner> logger)
{
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The end of the fit to store, or null when <paramref name="shutdown"/> interrupted it (the caller hands it back).
    /// <paramref name="stop"/> is the run's own token source, linked to <paramref name="shutdown"/>; the caller registers
    /// it with <see cref="FitCancellations"/> (before the start, so no cancel request is missed) and disposes it.
    /// </summary>
    public FitCompletion? Run(FitRecord fit, double[] x, double[] y, CancellationTokenSource stop, CancellationToken shutdown)
    {
        var spec = JsonSerializer.Deserialize<FitSpec>(fit.RequestJson, FitRequestReader.Strict)!;
        var problem = FitValidator.ToProblem(spec, x, y);

        var savedHistory = 0;
        var countedSteps = 0;
        metrics.Started(fit.Attempt == 1 ? clock.GetUtcNow() - fit.CreatedAt : null);
        FitResult result;
        try
        {
            logger.LogDebug("Fit {FitId} started: {Points} points, degree {Degree}, {Loss}, {Steps} steps (attempt {Attempt})",
                fit.Id, spec.Points, spec.Degree, spec.Loss, spec.Steps, fit.Attempt);
            result = Fitter.Run(problem, progress =>
            {
                var fresh = progress.History.AsSpan(savedHistory).ToArray();
                var update = new FitProgressUpdate(fit.Attempt, progress.Step, progress.Params, progress.Loss, savedHistory, fresh);
                // The engine calls back on the job's own thread at most every 250 ms: a blocking save here is fine.
                if (store.SaveProgressAsync(fit.Id, update, CancellationToken.None).GetAwaiter().GetResult()) stop.Cancel();
                savedHistory = progress.History.Length;
                metrics.StepsDone(progress.Step - countedSteps);
                countedSteps = progress.Step;
                signals.Publish(new FitSignal(fit.Id, false, progress.Step, progress.Loss, progress.Params));
            }, ProgressInterval, stop.Token);
        }
        finally
        {
            metrics.Stopped();
        }
        metrics.StepsDone(result.Step - countedSteps);

        var cancelledByUser = stop.IsCancellationRequested && !shutdown.IsCancellationRequested;
        if (result.StopReason == StopReason.Cancelled && !cancelledByUser)
        {
            logger.LogInformation("Fit {FitId} interrupted by shutdown at step {Step}", fit.Id, result.Step);
            return null;
        }
        var status = result.StopReason switch
        {
            StopReason.Diverged => FitStatus.Failed,
            StopReason.Cancelled => FitStatus.Cancelled,
            _ => FitStatus.Succeeded,
        };
        return new FitCompletion(status, Wire(result.StopReason), result.Step, result.Params,
            double.IsFinite(result.Loss) ? result.Loss : null, result.History, result.Error, clock.GetUtcNow());
    }

    /// <summary>The end of a fit that could not be run at all (the service's fault, not the math's).</summary>
    public FitCompletion GaveUp(Exception? error, int tries) => new(FitStatus.Failed, "error", 0, [], null, [],
        $"The service could not run this fit ({error?.GetType().Name ?? "worker lost"}); it was tried {tries} times.", clock.GetUtcNow());

    public static string Wire(StopReason reason) => reason switch
    {
        StopReason.Steps => "steps",
        StopReason.Converged => "converged",
        StopReason.Diverged => "diverged",
        _ => "cancelled",
    };
}
