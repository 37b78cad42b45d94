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
    IFitWork store,
    FitRunner runner,
    FitEndings endings,
    FitCancellations cancellations,
    IFitQueue queue,
    TimeProvider clock,
    ILogger<FitJob> logger,
    IFitLeases? leases = null,
    ChunkEnds? chunkEnds = null)
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
        await RunFitsAsync(fitIds, context, cancellationToken);
    }

    private async Task RunFitsAsync(string[] fitIds, PerformContext? context, CancellationToken cancellationToken)
    {
        if (leases is null && fitIds.Length > 1)
        {
            await RunChunkAsync(fitIds, context, cancellationToken);
            return;
        }
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
        if (failures is not null) await FailAsync(fitIds.Length, failures, context);
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
            if (!await IsToRunAsync(fitId, start)) return;

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

    /// <summary>Whether a start says to run the fit; if not, says why in the log (and announces a cancellation it ended).</summary>
    private async Task<bool> IsToRunAsync(string fitId, StartResult start)
    {
        switch (start.Outcome)
        {
            case StartOutcome.Missing:
                logger.LogInformation("Fit {FitId} was deleted before it ran", fitId);
                return false;
            case StartOutcome.Ended:
                logger.LogInformation("Fit {FitId} had already ended; nothing to do", fitId);
                return false;
            case StartOutcome.Leased:
                logger.LogInformation("Fit {FitId} is running in another worker; nothing to do", fitId);
                return false;
            case StartOutcome.CancelledNow:
                await endings.EndedAsync(new FitSignal(fitId, true, 0, null, null), FitStatus.Cancelled);
                return false;
            default:
                return true;
        }
    }

    /// <summary>
    /// A chunk of small fits on the embedded store, in columns rather than rows: the store starts them all in one read
    /// (and at most one write), each runs in turn (with its exact optimum, if one is due), and one write stores every
    /// result (a commit per chunk, not two per fit). Results are readable once the chunk is written. That write is handed
    /// to <see cref="ChunkEnds"/>, so the worker runs its next chunk while the writer stores this one; a failure of the
    /// write hands the fits back to the queue. A fit's cancellation and progress work as for a lone fit; a shutdown keeps
    /// what ended and leaves the rest in the store, for the retry (or recovery at start) to run again.
    /// </summary>
    private async Task RunChunkAsync(string[] fitIds, PerformContext? context, CancellationToken shutdown)
    {
        var ids = fitIds.Distinct().ToArray();
        // Registered before the start, as for a lone fit, so no cancel request is missed.
        var stops = ids.ToDictionary(id => id, _ => CancellationTokenSource.CreateLinkedTokenSource(shutdown));
        foreach (var (id, stop) in stops) cancellations.Register(id, stop);
        var completions = new List<ChunkCompletion>(ids.Length);
        List<(string FitId, Exception Error)>? failures = null;
        var interrupted = false;
        // What the chunk's fits share (their points, spec, compiled model and optimum) is worked out once.
        var memo = new ChunkMemo();
        try
        {
            foreach (var chunkStart in await store.TryStartManyAsync(ids, clock.GetUtcNow(), shutdown))
            {
                var (id, start, points) = chunkStart;
                using var _ = LogContext.PushProperty("FitId", id);
                if (!await IsToRunAsync(id, start)) continue;
                if (points is null)
                {
                    (failures ??= []).Add((id, new InvalidOperationException($"points of fit {id} are missing")));
                    continue;
                }
                // Per fit at Debug: a chunk of small fits logs once at Information, when it ends (below).
                logger.LogDebug("Fit {FitId} started (attempt {Attempt})", id, start.Attempt);
                FitCompletion? completion;
                try
                {
                    // A lone fit ends before its optimum is computed, so that its end does not wait for it. A chunk's fits all end
                    // together, and the chunk's work (FitWork.Of, which counts the optimum) is small by construction: the
                    // optimum is computed with the fit and goes into the same write. A shutdown leaves it pending.
                    points = memo.Points(points);
                    completion = runner.Run(start.Fit!, points, stops[id], shutdown, optimumNow: true, memo: memo);
                }
                catch (Exception e) when (!FitRunner.IsInfrastructureFault(e))
                {
                    logger.LogError(e, "Fit {FitId} cannot be computed; it fails without a retry", id);
                    completion = runner.CannotRun(e);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Fit {FitId} could not run; the job will be retried", id);
                    (failures ??= []).Add((id, e));
                    continue;
                }
                // The server is shutting down: what ran is stored below, the rest is run again by the retry.
                if (completion is null)
                {
                    interrupted = true;
                    break;
                }
                // A start the store did not write is stored with the end (ChunkStart.Stored).
                completions.Add(new ChunkCompletion(id, start.Fit!, points, chunkStart.Completing(completion)));
            }
        }
        catch
        {
            // What ran is kept; the job's retry runs the rest.
            await StoreEndsAsync(completions, stops);
            throw;
        }
        // A chunk that ran through hands its write on; one with failures or cut short by a shutdown waits for it, then
        // throws for Hangfire's retry, which must find the fits that ended already ended.
        if (chunkEnds is not null && !interrupted && failures is null)
        {
            await chunkEnds.HandOffAsync(ids, () => EndChunkAsync(ids, completions, stops, shutdown));
            return;
        }
        await EndChunkAsync(ids, completions, stops, shutdown);
        if (interrupted)
        {
            shutdown.ThrowIfCancellationRequested();
            throw new OperationCanceledException();
        }
        if (failures is not null) await FailAsync(fitIds.Length, failures, context);
    }

    /// <summary>A fit of a chunk that ran: its record as started, its points and its end, to store.</summary>
    private sealed record ChunkCompletion(string Id, FitRecord Fit, FitPoints Points, FitCompletion Completion);

    /// <summary>Stores a chunk's ends in one write and drops its fits' cancellation handles; the fits that this write ended.</summary>
    private async Task<IReadOnlyList<string>> StoreEndsAsync(List<ChunkCompletion> completions, Dictionary<string, CancellationTokenSource> stops)
    {
        try
        {
            return completions.Count > 0 ? await store.CompleteManyAsync([.. completions.Select(c => (c.Id, c.Completion))], CancellationToken.None) : [];
        }
        finally
        {
            foreach (var (id, stop) in stops)
            {
                cancellations.Unregister(id, stop);
                stop.Dispose();
            }
        }
    }

    /// <summary>A chunk's end: its results stored, then announced (waiters, webhooks), then any optimum left pending stored.</summary>
    private async Task EndChunkAsync(string[] ids, List<ChunkCompletion> completions, Dictionary<string, CancellationTokenSource> stops, CancellationToken shutdown)
    {
        var endedNow = (await StoreEndsAsync(completions, stops)).ToHashSet();
        var announced = new List<(FitSignal Signal, FitStatus Status, FitRecord Fit)>(endedNow.Count);
        foreach (var (id, fit, _, completion) in completions)
        {
            if (!endedNow.Contains(id)) continue;
            logger.LogDebug("Fit {FitId} ended: {Status} ({StopReason}) after {Step} steps, loss {Loss}",
                id, completion.Status.ToWire(), completion.StopReason, completion.Step, completion.Loss);
            announced.Add((new FitSignal(id, true, completion.Step, completion.Loss, completion.Params), completion.Status, FitLifecycle.Ended(fit, completion)));
        }
        if (announced.Count > 0)
        {
            logger.LogInformation("{Ended} of a chunk of {Fits} fits ended ({Succeeded} succeeded), from {First} to {Last}",
                announced.Count, ids.Length, announced.Count(a => a.Status == FitStatus.Succeeded), announced[0].Signal.FitId, announced[^1].Signal.FitId);
            await endings.EndedManyAsync(announced, store.AnnouncesEnds);
        }
        // The chunk's results are stored and announced; optima left pending (by a shutdown) follow, also in one write.
        var optima = new List<(string Id, string OutcomeJson)>();
        foreach (var (id, fit, points, completion) in completions)
        {
            if (completion.OptimumPending && endedNow.Contains(id) && runner.PendingOptimum(fit, points, completion.OutcomeJson, completion.Loss, shutdown) is { } outcomeJson)
                optima.Add((id, outcomeJson));
        }
        if (optima.Count > 0) await store.SaveOutcomesAsync(optima, CancellationToken.None);
    }

    /// <summary>Fits that could not run: on the last attempt they fail for good; either way the job throws, to be retried.</summary>
    private async Task FailAsync(int fits, List<(string FitId, Exception Error)> failures, PerformContext? context)
    {
        if (IsLastAttempt(context))
        {
            foreach (var (fitId, error) in failures)
            {
                logger.LogError(error, "Fit {FitId} failed for good after {Retries} retries", fitId, Retries);
                await EndAsync(fitId, runner.GaveUp(error, Retries + 1));
            }
        }
        throw new AggregateException($"{failures.Count} of {fits} fits could not run", failures.Select(f => f.Error));
    }

    /// <param name="fitId">The fit.</param>
    /// <param name="completion">Its end, to store.</param>
    /// <param name="started">The record the run started from, if any: the end's handlers get it ended, and need not read the fit back.</param>
    private async Task<bool> EndAsync(string fitId, FitCompletion completion, FitRecord? started = null)
    {
        if (!await store.CompleteAsync(fitId, completion, CancellationToken.None)) return false;
        await endings.EndedAsync(new FitSignal(fitId, true, completion.Step, completion.Loss, completion.Params), completion.Status,
            started is null ? null : FitLifecycle.Ended(started, completion), store.AnnouncesEnds);
        return true;
    }

    private static bool IsLastAttempt(PerformContext? context) =>
        context is not null && context.GetJobParameter<int>("RetryCount") >= Retries;
}
