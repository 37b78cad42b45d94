using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Api.Tracing;
using Hangfire;
using Hangfire.Server;
using Serilog.Context;

namespace FitService.Api.Jobs;

/// <summary>
/// Runs one fit, or several small ones in turn. Reentrant: the store decides whether a fit still needs running (a
/// duplicated or retried job finds it ended, or held by another worker, and does nothing), and the engine is
/// deterministic, so a rerun after a crash gives the same result. Bad math is an answer (the fit fails with its reason,
/// no retry), and so is any other error the engine throws; store or infrastructure errors throw and are retried. With a shared store (<paramref name="leases"/>)
/// fits run under a lease.
/// </summary>
public sealed class FitJob(
    IFitStore store,
    FitRunner runner,
    FitEndings endings,
    FitCancellations cancellations,
    IFitQueue queue,
    TimeProvider clock,
    ILogger<FitJob> logger,
    IFitLeases? leases = null)
{
    public const int Retries = 5;

    // Infrastructure errors (a locked or restarting database) usually pass within seconds: retry soon, then back off,
    // rather than after Hangfire's default first delay of up to a minute.
    [AutomaticRetry(Attempts = Retries, DelaysInSeconds = [2, 10, 30, 120, 600], OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [JobDisplayName("fit {0}")]
    public void Run(string fitId, PerformContext? context, CancellationToken cancellationToken) =>
        Blocking.Wait(RunManyAsync([fitId], context, cancellationToken));

    /// <inheritdoc cref="RunManyAsync"/>
    [AutomaticRetry(Attempts = Retries, DelaysInSeconds = [2, 10, 30, 120, 600], OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [FitsDisplayName]
    public void RunMany(string[] fitIds, PerformContext? context, CancellationToken cancellationToken) =>
        Blocking.Wait(RunManyAsync(fitIds, context, cancellationToken));

    /// <summary>Jobs stored before <see cref="Run"/> existed (a shared database keeps them across upgrades) still run.</summary>
    [AutomaticRetry(Attempts = Retries, DelaysInSeconds = [2, 10, 30, 120, 600], OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [JobDisplayName("fit {0}")]
    public Task RunAsync(string fitId, PerformContext? context, CancellationToken cancellationToken) =>
        RunManyAsync([fitId], context, cancellationToken);

    /// <summary>
    /// Runs several small fits in one job, one after the other. A retry of the job skips those that ended, so a
    /// failure of one fit costs the others nothing.
    /// </summary>
    [AutomaticRetry(Attempts = Retries, DelaysInSeconds = [2, 10, 30, 120, 600], OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [FitsDisplayName]
    public async Task RunManyAsync(string[] fitIds, PerformContext? context, CancellationToken cancellationToken)
    {
        queue.JobStarted();
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
                await EndAsync(fitId, runner.GaveUp(error, Retries + 1));
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
            var now = clock.GetUtcNow();
            var start = leases is null ? await store.TryStartAsync(fitId, now, shutdown) : await leases.TryClaimAsync(fitId, now, shutdown);
            switch (start.Outcome)
            {
                case StartOutcome.Missing:
                    logger.LogInformation("Fit {FitId} was deleted before it ran", fitId);
                    return;
                case StartOutcome.Ended:
                    logger.LogInformation("Fit {FitId} had already ended; nothing to do", fitId);
                    return;
                case StartOutcome.Leased:
                    logger.LogInformation("Fit {FitId} is running in another worker; nothing to do", fitId);
                    return;
                case StartOutcome.CancelledNow:
                    await endings.EndedAsync(new FitSignal(fitId, true, 0, null, null), FitStatus.Cancelled);
                    return;
            }

            using var span = FitTracing.StartRun(fitId, start.Attempt, start.Fit!.TraceParent);
            FitCompletion? completion;
            FitPoints points;
            var ended = false;
            try
            {
                points = await store.GetPointsAsync(fitId, shutdown) ?? throw new InvalidOperationException($"points of fit {fitId} are missing");
                logger.LogInformation("Fit {FitId} started (attempt {Attempt})", fitId, start.Attempt);
                try
                {
                    completion = runner.Run(start.Fit!, points, stop, shutdown);
                }
                catch (Exception e) when (!FitRunner.IsInfrastructureFault(e))
                {
                    // The engine's own error: deterministic, so a retry would only repeat it (and restart the fit at step 0).
                    logger.LogError(e, "Fit {FitId} cannot be computed; it fails without a retry", fitId);
                    completion = runner.CannotRun(e);
                }
                if (completion is not null) ended = await EndAsync(fitId, completion, start.Fit);
            }
            catch (Exception e) when (e is not OperationCanceledException && leases is not null)
            {
                // The retry of this job (seconds away) must find the fit free, not held by our own lease for a whole lease.
                await leases.GiveUpAsync([fitId]);
                throw;
            }
            if (completion is null)
            {
                // The server is shutting down: hand the fit back; Hangfire (or recovery at start) runs it again.
                if (leases is not null) await leases.ReleaseAsync([fitId], CancellationToken.None);
                shutdown.ThrowIfCancellationRequested();
                throw new OperationCanceledException();
            }
            logger.LogInformation("Fit {FitId} ended: {Status} ({StopReason}) after {Step} steps, loss {Loss}",
                fitId, completion.Status.ToWire(), completion.StopReason, completion.Step, completion.Loss);
            if (ended) await runner.CompletePendingOptimumAsync(start.Fit!, points, completion, shutdown);
        }
        finally
        {
            cancellations.Unregister(fitId, stop);
        }
    }

    private async Task<bool> EndAsync(string fitId, FitCompletion completion, FitRecord? fit = null)
    {
        if (!await store.CompleteAsync(fitId, completion, CancellationToken.None)) return false;
        await endings.EndedAsync(new FitSignal(fitId, true, completion.Step, completion.Loss, completion.Params), completion.Status, fit);
        return true;
    }

    private static bool IsLastAttempt(PerformContext? context) =>
        context is not null && context.GetJobParameter<int>("RetryCount") >= Retries;
}
