using FitService.Api.Fits;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Api.LearningRates;
using FitService.Engine;
using FitService.Engine.Exact;
using FitService.Engine.LearningRates;
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
                    signals.Publish(new FitSignal(fitId, true, 0, null, null));
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
        var points = await store.GetPointsAsync(fitId, shutdown) ?? throw new InvalidOperationException($"points of fit {fitId} are missing");
        if (start.Fit!.Kind == FitKinds.LearningRateFinder)
        {
            await RunFinderAsync(fitId, start.Fit, points.X, points.Y, stop, shutdown);
            return;
        }
        var spec = JsonSerializer.Deserialize<FitSpec>(start.Fit.RequestJson, FitRequestReader.Strict)!;
        if (spec.Solver == FitValidator.Exact)
        {
            await EndAsync(fitId, Exact(spec, points.X, points.Y, shutdown));
            return;
        }

        double? chosen = null;
        LearningRateSuggestions? suggestions = null;
        if (spec.LearningRate?.IsAuto == true)
        {
            // "auto": the finder's sweep on the same problem first; the fit then runs at the rate it suggests.
            var found = RunOrCancel(() => LearningRateFinder.Run(FitValidator.ToProblem(spec, points.X, points.Y, 1.0), cancellationToken: stop.Token), stop, shutdown);
            if (found is null)
            {
                await EndAsync(fitId, new FitCompletion(FitStatus.Cancelled, "cancelled", 0, spec.InitialParams ?? [], null, [], null, clock.GetUtcNow()));
                return;
            }
            suggestions = new LearningRateSuggestions(found.Steep, found.Minimum);
            chosen = found.Suggested;
            if (chosen is null)
            {
                await EndAsync(fitId, new FitCompletion(FitStatus.Failed, "error", 0, spec.InitialParams ?? [], null, [],
                    $"learningRate \"auto\": the learning-rate finder found no rate (its sweep ended as '{found.StopReason}' after {found.Losses.Length} steps); give a learning rate",
                    clock.GetUtcNow(), new FitOutcome { LearningRateSuggestions = suggestions }.ToJson()));
                return;
            }
            logger.LogInformation("Fit {FitId}: learning-rate finder chose {Rate} (steep {Steep}, minimum/10 {Minimum})", fitId, chosen, found.Steep, found.Minimum);
        }
        var problem = FitValidator.ToProblem(spec, points.X, points.Y, chosen);

        var savedHistory = 0;
        logger.LogInformation("Fit {FitId} started: {Points} points, {Model}, {Loss}, {Steps} steps (attempt {Attempt})",
            fitId, spec.Points, spec.Model?.Formula ?? $"degree {spec.Degree}", spec.Loss, spec.Steps, start.Attempt);
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
        var outcome = new FitOutcome { LearningRateChosen = chosen, LearningRateSuggestions = suggestions };
        if (problem.Formula is null && status != FitStatus.Cancelled) outcome = WithOptimum(outcome, spec, points.X, points.Y, result.Loss, shutdown);
        var completion = new FitCompletion(status, Wire(result.StopReason), result.Step, result.Params,
            double.IsFinite(result.Loss) ? result.Loss : null, result.History, result.Error, clock.GetUtcNow(), outcome.ToJson());
        await EndAsync(fitId, completion);
        logger.LogInformation("Fit {FitId} ended: {Status} ({StopReason}) after {Step} steps, loss {Loss}, gap {Gap}",
            fitId, status.ToWire(), completion.StopReason, result.Step, result.Loss, outcome.Gap);
    }

    /// <summary>The exact optimum beside the descent, and the gap to it; a problem without one says why.</summary>
    private static FitOutcome WithOptimum(FitOutcome outcome, FitSpec spec, double[] x, double[] y, double loss, CancellationToken ct)
    {
        try
        {
            var optimum = ExactSolver.Solve(x, y, spec.Degree!.Value, FitValidator.ToLossSpec(spec.Loss, spec.HuberDelta), ct);
            return outcome with
            {
                Optimum = FitOutcome.ToDto(optimum),
                Gap = double.IsFinite(loss) && double.IsFinite(optimum.Loss) ? loss - optimum.Loss : null,
            };
        }
        catch (ExactSolverException e)
        {
            return outcome with { OptimumError = e.Message };
        }
    }

    /// <summary><c>solver: "exact"</c>: the optimum is the result; no descent, no history.</summary>
    private FitCompletion Exact(FitSpec spec, double[] x, double[] y, CancellationToken ct)
    {
        try
        {
            var optimum = ExactSolver.Solve(x, y, spec.Degree!.Value, FitValidator.ToLossSpec(spec.Loss, spec.HuberDelta), ct);
            return new FitCompletion(FitStatus.Succeeded, "exact", 0, optimum.Params, double.IsFinite(optimum.Loss) ? optimum.Loss : null, [], null,
                clock.GetUtcNow(), new FitOutcome { Optimum = FitOutcome.ToDto(optimum), Gap = 0 }.ToJson());
        }
        catch (ExactSolverException e)
        {
            return new FitCompletion(FitStatus.Failed, "error", 0, [], null, [], $"The exact optimum cannot be computed: {e.Message}.", clock.GetUtcNow(),
                new FitOutcome { OptimumError = e.Message }.ToJson());
        }
    }

    /// <summary>A finder run: the sweep, then its curve and suggestions as the outcome.</summary>
    private async Task RunFinderAsync(string id, FitRecord record, double[] x, double[] y, CancellationTokenSource stop, CancellationToken shutdown)
    {
        var spec = JsonSerializer.Deserialize<LearningRateFinderSpec>(record.RequestJson, FitRequestReader.Strict)!;
        var problem = FitValidator.ToProblem(spec.ToFitSpec(), x, y);
        logger.LogInformation("Learning-rate finder {FitId} started: {Points} points, {Loss}, {Start} to {End} over {Steps} steps",
            id, spec.Points, spec.Loss, spec.StartLearningRate, spec.EndLearningRate, spec.Steps);
        var found = RunOrCancel(() => LearningRateFinder.Run(problem, spec.Sweep(), cancellationToken: stop.Token), stop, shutdown);
        if (found is null)
        {
            await EndAsync(id, new FitCompletion(FitStatus.Cancelled, "cancelled", 0, spec.InitialParams, null, [], null, clock.GetUtcNow()));
            return;
        }
        var last = found.Losses.Length > 0 ? found.Losses[^1] : double.NaN;
        var error = found.Suggested is null
            ? $"the sweep ended ('{found.StopReason}') after {found.Losses.Length} steps, too few to suggest a rate: lower startLearningRate"
            : null;
        await EndAsync(id, new FitCompletion(error is null ? FitStatus.Succeeded : FitStatus.Failed, found.StopReason, found.Losses.Length, found.Params,
            double.IsFinite(last) ? last : null, found.Losses, error, clock.GetUtcNow(), new FitOutcome { Finder = FinderCurve.From(found) }.ToJson()));
        logger.LogInformation("Learning-rate finder {FitId} ended ({StopReason}) after {Steps} steps: steep {Steep}, minimum/10 {Minimum}",
            id, found.StopReason, found.Losses.Length, found.Steep, found.Minimum);
    }

    /// <summary>Runs a sweep; null when the user cancelled it; rethrows when the server is shutting down (the job runs again).</summary>
    private static LearningRateFinderResult? RunOrCancel(Func<LearningRateFinderResult> sweep, CancellationTokenSource stop, CancellationToken shutdown)
    {
        try
        {
            return sweep();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            shutdown.ThrowIfCancellationRequested();
            return null;
        }
    }

    private async Task EndAsync(string fitId, FitCompletion completion)
    {
        if (await store.CompleteAsync(fitId, completion, CancellationToken.None))
        {
            signals.Publish(new FitSignal(fitId, true, completion.Step, completion.Loss, completion.Params));
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
