using FitService.Api.Fits;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Engine;
using Hangfire;
using Hangfire.Server;
using Serilog.Context;
using System.Text.Json;

namespace FitService.Api.Jobs;

/// <summary>
/// Runs one fit. Reentrant: the store decides whether the fit still needs running (a duplicated or retried job
/// finds it ended and does nothing), and the engine is deterministic, so a rerun after a crash gives the same result.
/// Bad math is an answer (the fit fails with its reason, no retry); store or infrastructure errors throw and are retried.
/// </summary>
public sealed class FitJob(
    IFitStore store,
    IFitSignals signals,
    FitEndings endings,
    FitCancellations cancellations,
    TimeProvider clock,
    ILogger<FitJob> logger)
{
    public const int Retries = 5;
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);

    [AutomaticRetry(Attempts = Retries, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [JobDisplayName("fit {0}")]
    public Task RunAsync(string fitId, PerformContext? context, CancellationToken cancellationToken) =>
        RunManyAsync([fitId], context, cancellationToken);

    /// <summary>
    /// Runs several small fits in one job, one after the other. A retry of the job skips those that ended, so a
    /// failure of one fit costs the others nothing.
    /// </summary>
    [AutomaticRetry(Attempts = Retries, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [JobDisplayName("fits {0}")]
    public async Task RunManyAsync(string[] fitIds, PerformContext? context, CancellationToken cancellationToken)
    {
        List<(string FitId, Exception Error)>? failures = null;
        foreach (var fitId in fitIds)
        {
            using var _ = LogContext.PushProperty("FitId", fitId);
            try
            {
                await RunCoreAsync(fitId, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Fit {FitId} could not run; the job will be retried", fitId);
                (failures ??= []).Add((fitId, e));
            }
        }
        if (failures is null) return;
        if (IsLastAttempt(context))
        {
            foreach (var (fitId, error) in failures)
            {
                logger.LogError(error, "Fit {FitId} failed for good after {Retries} retries", fitId, Retries);
                await EndAsync(fitId, new FitCompletion(FitStatus.Failed, "error", 0, [], null, [],
                    $"The service could not run this fit ({error.GetType().Name}); it was tried {Retries + 1} times.", clock.GetUtcNow()));
            }
        }
        throw new AggregateException($"{failures.Count} of {fitIds.Length} fits could not run", failures.Select(f => f.Error));
    }

    private async Task RunCoreAsync(string fitId, CancellationToken shutdown)
    {
        // Registered before the start, so a cancel request that lands after the start always finds the run;
        // one that lands before it is seen by the start itself.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        cancellations.Register(fitId, stop);
        try
        {
            var start = await store.TryStartAsync(fitId, clock.GetUtcNow(), shutdown);
            switch (start.Outcome)
            {
                case StartOutcome.Missing:
                    logger.LogInformation("Fit {FitId} was deleted before it ran", fitId);
                    return;
                case StartOutcome.Ended:
                    logger.LogInformation("Fit {FitId} had already ended; nothing to do", fitId);
                    return;
                case StartOutcome.CancelledNow:
                    await endings.EndedAsync(new FitSignal(fitId, true, 0, null, null));
                    return;
            }
            await RunStartedAsync(fitId, start, stop, shutdown);
        }
        finally
        {
            cancellations.Unregister(fitId, stop);
        }
    }

    private async Task RunStartedAsync(string fitId, StartResult start, CancellationTokenSource stop, CancellationToken shutdown)
    {
        var spec = JsonSerializer.Deserialize<FitSpec>(start.Fit!.RequestJson, FitRequestReader.Strict)!;
        var points = await store.GetPointsAsync(fitId, shutdown) ?? throw new InvalidOperationException($"points of fit {fitId} are missing");
        var problem = FitValidator.ToProblem(spec, points.X, points.Y);

        var savedHistory = 0;
        logger.LogInformation("Fit {FitId} started: {Points} points, degree {Degree}, {Loss}, {Steps} steps (attempt {Attempt})",
            fitId, spec.Points, spec.Degree, spec.Loss, spec.Steps, start.Attempt);
        var result = Fitter.Run(problem, progress =>
        {
            var fresh = progress.History.AsSpan(savedHistory).ToArray();
            var update = new FitProgressUpdate(start.Attempt, progress.Step, progress.Params, progress.Loss, savedHistory, fresh);
            // The engine calls back on the job's own thread at most every 250 ms: a blocking save here is fine.
            if (store.SaveProgressAsync(fitId, update, CancellationToken.None).GetAwaiter().GetResult()) stop.Cancel();
            savedHistory = progress.History.Length;
            signals.Publish(new FitSignal(fitId, false, progress.Step, progress.Loss, progress.Params));
        }, ProgressInterval, stop.Token);
        var cancelledByUser = stop.IsCancellationRequested && !shutdown.IsCancellationRequested;

        if (result.StopReason == StopReason.Cancelled && !cancelledByUser)
        {
            // The server is shutting down: hand the fit back; Hangfire (or recovery at start) runs it again.
            logger.LogInformation("Fit {FitId} interrupted by shutdown at step {Step}", fitId, result.Step);
            shutdown.ThrowIfCancellationRequested();
        }

        var status = result.StopReason switch
        {
            StopReason.Diverged => FitStatus.Failed,
            StopReason.Cancelled => FitStatus.Cancelled,
            _ => FitStatus.Succeeded,
        };
        var completion = new FitCompletion(status, Wire(result.StopReason), result.Step, result.Params,
            double.IsFinite(result.Loss) ? result.Loss : null, result.History, result.Error, clock.GetUtcNow());
        await EndAsync(fitId, completion);
        logger.LogInformation("Fit {FitId} ended: {Status} ({StopReason}) after {Step} steps, loss {Loss}",
            fitId, status.ToWire(), completion.StopReason, result.Step, result.Loss);
    }

    private async Task EndAsync(string fitId, FitCompletion completion)
    {
        if (await store.CompleteAsync(fitId, completion, CancellationToken.None))
        {
            await endings.EndedAsync(new FitSignal(fitId, true, completion.Step, completion.Loss, completion.Params));
        }
    }

    public static string Wire(StopReason reason) => reason switch
    {
        StopReason.Steps => "steps",
        StopReason.Converged => "converged",
        StopReason.Diverged => "diverged",
        _ => "cancelled",
    };

    private static bool IsLastAttempt(PerformContext? context) =>
        context is not null && context.GetJobParameter<int>("RetryCount") >= Retries;
}
