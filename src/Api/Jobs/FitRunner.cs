using System.Globalization;
using System.Text.Json;
using FitService.Api.Fits;
using FitService.Api.Metrics;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Api.LearningRates;
using FitService.Api.Tracing;
using FitService.Engine;
using FitService.Engine.Exact;
using FitService.Engine.LearningRates;
using FitService.Engine.Models;

namespace FitService.Api.Jobs;

/// <summary>
/// Runs one started fit through the engine: saves progress every <see cref="ProgressInterval"/> (which also renews a
/// lease in the shared store), publishes it, and stops on a cancel request. Shared by the one-fit job and the drain job.
/// </summary>
public sealed class FitRunner(
    IFitWork store,
    IFitSignals signals,
    FitMetrics metrics,
    TimeProvider clock,
    ILogger<FitRunner> logger)
{
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The stop reason of a <c>solver: "exact"</c> fit whose solver could not verify an optimum (status failed; <c>error</c> says why).</summary>
    public const string SolverFailed = "solverFailed";

    /// <summary>
    /// The end of the fit to store, or null when <paramref name="shutdown"/> interrupted it (the caller hands it back).
    /// <paramref name="stop"/> is the run's own token source, linked to <paramref name="shutdown"/>; the caller registers
    /// it with <see cref="FitCancellations"/> (before the start, so no cancel request is missed) and disposes it.
    /// A fit not yet stored (<paramref name="stored"/> false: it runs on its request before it is stored ended, see
    /// <see cref="InlineFits"/>) has no progress to save and nobody to tell of it (progress never changes a result), and its
    /// optimum, which a stored fit gets after its end, is computed before the run returns. So is a fit's whose end is stored
    /// with others' anyway (<paramref name="optimumNow"/>: a chunk of small fits), which spares parsing and writing its
    /// outcome twice; a shutdown during the optimum leaves it pending either way. A chunk's fits share a
    /// <paramref name="memo"/> (their points from <see cref="ChunkMemo.Points"/>), which gives the same bits with less work.
    /// </summary>
    public FitCompletion? Run(FitRecord fit, FitPoints points, CancellationTokenSource stop, CancellationToken shutdown, bool stored = true,
        bool optimumNow = false, ChunkMemo? memo = null)
    {
        var (x, y, weights) = points;
        using var span = FitTracing.StartEngine(fit.Id);
        // A fit run on its request (not stored yet) never waited in a queue: the histogram is of queued fits' waits.
        if (stored && fit.Attempt == 1) metrics.Dequeued(clock.GetUtcNow() - fit.CreatedAt);
        if (fit.Kind == FitKinds.LearningRateFinder) return RunFinder(fit, x, y, stop, shutdown);
        var spec = memo?.Spec(fit.RequestJson) ?? StoredSpecs.Read<FitSpec>(fit.RequestJson);
        if (spec.Solver == FitValidator.Exact) return Exact(spec, points, memo, shutdown);
        // A defaulted polynomial descent runs on x scaled to [−1, 1]; params are reported in powers of x (see FitSpec.ScaleX).
        var descentX = spec.ScaleX is not { } scaling ? x
            : memo?.Scaled(x, scaling) ?? ScaledX(x, scaling);
        double[] Reported(double[] parameters) =>
            spec.ScaleX is { } s ? Polynomial.Unscale(parameters, s.Center, s.HalfRange) : parameters;

        double? chosen = null;
        LearningRateSuggestions? suggestions = null;
        if (spec.LearningRate?.IsAuto == true)
        {
            // "auto": the finder's sweep on the same problem first; the fit then runs at the rate it suggests.
            LearningRateFinderResult found;
            try
            {
                // One loss per step: the finder reads its curve step by step.
                found = LearningRateFinder.Run(FitValidator.ToProblem(spec, descentX, y, 1.0, weights) with { HistoryPerEpoch = false }, cancellationToken: stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return shutdown.IsCancellationRequested ? null : Cancelled(spec.InitialParams);
            }
            suggestions = new LearningRateSuggestions(found.Steep, found.Minimum);
            chosen = found.Suggested;
            if (chosen is null)
            {
                return new FitCompletion(FitStatus.Failed, "error", 0, spec.InitialParams ?? [], null, [],
                    $"learningRate \"auto\": the learning-rate finder found no rate (its sweep ended as '{found.StopReason}' after {found.Losses.Length} steps); give a learning rate",
                    clock.GetUtcNow(), new FitOutcome { LearningRateSuggestions = suggestions }.ToJson());
            }
            logger.LogInformation("Fit {FitId}: learning-rate finder chose {Rate} (steep {Steep}, minimum/10 {Minimum})", fit.Id, chosen, found.Steep, found.Minimum);
        }
        var problem = FitValidator.ToProblem(spec, descentX, y, chosen, weights);

        var savedHistory = 0;
        var countedSteps = 0;
        metrics.Started();
        FitResult result;
        try
        {
            logger.LogDebug("Fit {FitId} started: {Points} points, degree {Degree}, {Loss}, {Steps} steps (attempt {Attempt})",
                fit.Id, spec.Points, spec.Degree, spec.Loss, spec.Steps, fit.Attempt);
            result = Fitter.Run(problem, !stored ? null : progress =>
            {
                var fresh = progress.History.AsSpan(savedHistory).ToArray();
                var update = new FitProgressUpdate(fit.Attempt, progress.Step, Reported(progress.Params), progress.Loss, savedHistory, fresh) { StartedAt = fit.StartedAt };
                // The engine calls back on the job's own thread at most every 250 ms: a blocking save here is fine.
                if (store.SaveProgressAsync(fit.Id, update, CancellationToken.None).GetAwaiter().GetResult()) stop.Cancel();
                savedHistory = progress.History.Length;
                metrics.StepsDone(progress.Step - countedSteps);
                countedSteps = progress.Step;
                signals.Publish(new FitSignal(fit.Id, false, progress.Step, progress.Loss, update.Params));
            }, ProgressInterval, memo?.RunOptions, stop.Token);
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
        if (spec.ScaleX is { } scaled && Array.TrueForAll(result.Params, double.IsFinite))
        {
            // The same curve in powers of x; its loss on the original x, as /v1/evaluate would compute it.
            var parameters = Reported(result.Params);
            if (Array.TrueForAll(parameters, double.IsFinite))
            {
                var loss = Fitter.Evaluate(x, y, spec.Degree!.Value, FitValidator.ToLossSpec(spec.Loss, spec.HuberDelta), parameters, weights);
                result = result with { Params = parameters, Loss = double.IsFinite(result.Loss) ? loss : result.Loss };
            }
            else
            {
                // x spans so little (or its centre is so far out) that the curve found cannot be written in powers of x.
                result = result with
                {
                    StopReason = result.StopReason == StopReason.Cancelled ? StopReason.Cancelled : StopReason.Diverged,
                    Params = parameters,
                    Error = result.StopReason == StopReason.Cancelled ? result.Error : string.Create(CultureInfo.InvariantCulture,
                        $"the params, written in powers of x, overflow a double: the descent ran on x scaled to [−1, 1], (x − {scaled.Center:G3}) / {scaled.HalfRange:G3}, and the curve it found has coefficients beyond ±1.8e308 in powers of x; send x centred and scaled (or a wider x range)"),
                };
            }
        }
        var status = result.StopReason switch
        {
            StopReason.Diverged => FitStatus.Failed,
            StopReason.Cancelled => FitStatus.Cancelled,
            _ => FitStatus.Succeeded,
        };
        var outcome = new FitOutcome
        {
            LearningRateChosen = chosen,
            LearningRateSuggestions = suggestions,
            Standardization = result.Standardization is { } st ? new StandardizationDto(st.Means, st.Scales) : null,
        };
        if (FitWork.HasOptimum(spec) && status != FitStatus.Cancelled)
        {
            // Too costly beside a cheap descent: not computed (optimumError says so). Cheap beside the descent (under a fifth
            // of its work): computed now. Else the fit ends first and CompletePendingOptimumAsync adds the optimum after its
            // end is stored, so nothing waits for it.
            if (!FitWork.ComputesOptimum(spec)) outcome = outcome with { OptimumError = OptimumTooCostly(spec) };
            else if (FitWork.Exact(spec) <= 0.2 * FitWork.Descent(spec with { Steps = Math.Max(1, result.Step) })) outcome = WithOptimum(fit.Id, outcome, spec, points, result.Loss, memo, shutdown);
            // A fit not yet stored is stored once, ended: its optimum is computed now, as the stored path would after the end.
            else if ((!stored || optimumNow) && OptimumNow(fit.Id, outcome, spec, points, result.Loss, memo, shutdown) is { } now) outcome = now;
            else outcome = outcome with { OptimumPending = true };
        }
        if (status == FitStatus.Succeeded) outcome = outcome with { Statistics = FitStatisticsCalculator.Compute(spec, x, y, result.Params, weights, outcome.Standardization) };
        return new FitCompletion(status, Wire(result.StopReason), result.Step, result.Params,
            double.IsFinite(result.Loss) ? result.Loss : null, result.History, result.Error, clock.GetUtcNow(), outcome.ToJson())
        {
            OptimumPending = outcome.OptimumPending == true,
        };
    }

    private FitCompletion Cancelled(double[]? parameters) =>
        new(FitStatus.Cancelled, "cancelled", 0, parameters ?? [], null, [], null, clock.GetUtcNow());

    /// <summary>
    /// After a fit's end was stored with its optimum pending: computes the optimum and stores it beside the result. A
    /// shutdown on the way leaves it pending (the fit's own result is whole); any failure of the solver is stored as
    /// <c>optimumError</c>, so the status never stays pending because of the math.
    /// </summary>
    public Task CompletePendingOptimumAsync(FitRecord fit, FitPoints points, FitCompletion completion, CancellationToken shutdown) =>
        CompletePendingOptimumAsync(fit, points, completion.OutcomeJson, completion.Loss, shutdown);

    /// <summary>
    /// The same for a fit read back from the store (its worker stopped before the optimum was saved): see
    /// <see cref="PendingOptimumSweeper"/>. Nothing happens unless the stored outcome still says pending.
    /// </summary>
    public Task CompletePendingOptimumAsync(FitRecord fit, FitPoints points, CancellationToken shutdown) =>
        CompletePendingOptimumAsync(fit, points, fit.OutcomeJson, fit.Loss, shutdown);

    private async Task CompletePendingOptimumAsync(FitRecord fit, FitPoints points, string? outcomeJson, double? loss, CancellationToken shutdown)
    {
        if (PendingOptimum(fit, points, outcomeJson, loss, shutdown) is { } done) await store.SaveOutcomeAsync(fit.Id, done, CancellationToken.None);
    }

    /// <summary>
    /// The outcome to store once a pending optimum is computed (see <see cref="CompletePendingOptimumAsync(FitRecord, FitPoints, FitCompletion, CancellationToken)"/>),
    /// or null when none was pending or a shutdown interrupted it (it stays pending). A chunk of fits stores theirs in one write.
    /// </summary>
    public string? PendingOptimum(FitRecord fit, FitPoints points, string? outcomeJson, double? loss, CancellationToken shutdown)
    {
        var outcome = FitOutcome.FromJson(outcomeJson);
        if (outcome?.OptimumPending != true) return null;
        var spec = StoredSpecs.Read<FitSpec>(fit.RequestJson);
        return OptimumNow(fit.Id, outcome with { OptimumPending = null }, spec, points, loss ?? double.NaN, null, shutdown)?.ToJson();
    }

    /// <summary>
    /// The outcome with the optimum computed now, or null when a shutdown interrupted it (it stays pending); any failure of
    /// the solver becomes <c>optimumError</c>.
    /// </summary>
    private FitOutcome? OptimumNow(string fitId, FitOutcome outcome, FitSpec spec, FitPoints points, double loss, ChunkMemo? memo,
        CancellationToken shutdown)
    {
        try
        {
            return WithOptimum(fitId, outcome, spec, points, loss, memo, shutdown);
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            logger.LogInformation("Fit {FitId}: shutdown before its optimum was computed; it stays pending", fitId);
            return null;
        }
    }

    /// <summary>The exact optimum beside the descent (of the weighted loss, for weighted points), and the gap to it; a problem without one says why.</summary>
    private FitOutcome WithOptimum(string fitId, FitOutcome outcome, FitSpec spec, FitPoints points, double loss, ChunkMemo? memo,
        CancellationToken ct)
    {
        try
        {
            var optimum = Solve(spec, points, memo, ct);
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
        // Any other exception is a bug in the solver (an ArithmeticException on a non-finite matrix was one): the
        // optimum says so and the descent keeps its result, as the docs promise, instead of the whole fit failing.
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Fit {FitId}: the exact solver failed", fitId);
            return outcome with { OptimumError = UnexpectedSolverFailure(e) };
        }
    }

    private static string UnexpectedSolverFailure(Exception e) => $"the exact solver failed ({e.GetType().Name}: {e.Message})";

    /// <summary>The exact optimum of the fit's model: a polynomial's (once for a chunk's fits of the same points, degree and loss), or model linear's least squares.</summary>
    private static ExactOptimum Solve(FitSpec spec, FitPoints points, ChunkMemo? memo, CancellationToken ct)
    {
        var (x, y, weights) = points;
        // The engine's problem wants a rate and a step, which the exact solver does not use (networks take no weights).
        if (NetworkModels.IsNetwork(spec.Model)) return ExactSolver.SolveLinear(FitValidator.ToProblem(spec with { Steps = 1 }, x, y, 1.0), ct);
        var (degree, loss) = (spec.Degree!.Value, FitValidator.ToLossSpec(spec.Loss, spec.HuberDelta));
        return memo is null ? ExactSolver.Solve(x, y, weights, degree, loss, ct) : memo.Optimum(points, degree, loss, () => ExactSolver.Solve(x, y, weights, degree, loss, ct));
    }

    /// <summary>x as a defaulted polynomial descent runs on it: (x − center) / halfRange, in [−1, 1].</summary>
    public static double[] ScaledX(double[] x, XScaling scaling) => Array.ConvertAll(x, v => (v - scaling.Center) / scaling.HalfRange);

    /// <summary>Why the optimum beside a descent was skipped: its cost would dwarf the descent's.</summary>
    public static string OptimumTooCostly(FitSpec spec) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"not computed beside the descent: the exact {spec.Loss} optimum of {spec.Points} points and {FitWork.Params(spec)} params would cost about " +
        $"{FitWork.Exact(spec):0.#e0} work units, above {FitWork.MaxOptimumWork:0e0}; submit the same points with solver \"exact\" to compute it as a fit of its own");

    /// <summary><c>solver: "exact"</c>: the optimum is the result; no descent, no history.</summary>
    private FitCompletion Exact(FitSpec spec, FitPoints points, ChunkMemo? memo, CancellationToken ct)
    {
        var (x, y, weights) = points;
        ExactOptimum optimum;
        try
        {
            optimum = Solve(spec, points, memo, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // An ExactSolverException says why; any other is a bug in the solver, still the documented 'solverFailed'.
            var why = e is ExactSolverException ? e.Message : UnexpectedSolverFailure(e);
            return new FitCompletion(FitStatus.Failed, SolverFailed, 0, [], null, [], $"The exact optimum cannot be computed: {why}.", clock.GetUtcNow(),
                new FitOutcome { OptimumError = why }.ToJson());
        }
        return new FitCompletion(FitStatus.Succeeded, "exact", 0, optimum.Params, double.IsFinite(optimum.Loss) ? optimum.Loss : null, [], null,
            clock.GetUtcNow(), new FitOutcome
            {
                Standardization = Standardized(spec, x),
                Optimum = FitOutcome.ToDto(optimum),
                Gap = 0,
                Statistics = FitStatisticsCalculator.Compute(spec, x, y, optimum.Params, weights, Standardized(spec, x)),
            }.ToJson());
    }

    /// <summary>The standardization an exact linear fit with <c>standardize</c> ran on (the engine's, over the fit's points).</summary>
    private static StandardizationDto? Standardized(FitSpec spec, double[] x) =>
        spec.Standardize == true && Engine.Networks.Standardization.Of(x, spec.Features ?? 1) is { } s ? new StandardizationDto(s.Means, s.Scales) : null;

    /// <summary>A learning-rate finder run: the sweep, then its curve and suggestions as the outcome.</summary>
    private FitCompletion? RunFinder(FitRecord run, double[] x, double[] y, CancellationTokenSource stop, CancellationToken shutdown)
    {
        var spec = StoredSpecs.Read<LearningRateFinderSpec>(run.RequestJson);
        var problem = FitValidator.ToProblem(spec.ToFitSpec(), x, y);
        LearningRateFinderResult found;
        try
        {
            found = LearningRateFinder.Run(problem, spec.Sweep(), cancellationToken: stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return shutdown.IsCancellationRequested ? null : Cancelled(spec.InitialParams);
        }
        var last = found.Losses.Length > 0 ? found.Losses[^1] : double.NaN;
        var error = found.Suggested is null
            ? $"the sweep ended ('{found.StopReason}') after {found.Losses.Length} steps, too few to suggest a rate: lower startLearningRate"
            : null;
        logger.LogInformation("Learning-rate finder {FitId} ended ({StopReason}) after {Steps} steps: steep {Steep}, minimum/10 {Minimum}",
            run.Id, found.StopReason, found.Losses.Length, found.Steep, found.Minimum);
        return new FitCompletion(error is null ? FitStatus.Succeeded : FitStatus.Failed, found.StopReason, found.Losses.Length, found.Params,
            double.IsFinite(last) ? last : null, found.Losses, error, clock.GetUtcNow(), new FitOutcome { Finder = FinderCurve.From(found) }.ToJson());
    }

    /// <summary>
    /// The end of a fit the engine refused or failed on (a bug or a limit of the math, not of the infrastructure): it
    /// fails at once with the engine's own reason, since running it again gives the same answer.
    /// </summary>
    public FitCompletion CannotRun(Exception error) => new(FitStatus.Failed, "error", 0, [], null, [],
        $"This fit cannot be computed: {error.Message}", clock.GetUtcNow());

    /// <summary>
    /// Whether an error is the infrastructure's (storage, network, I/O, memory, shutdown), which a retry may cure;
    /// anything else thrown while running a fit is the engine's, and deterministic.
    /// </summary>
    public static bool IsInfrastructureFault(Exception error) => error switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsInfrastructureFault),
        System.Data.Common.DbException or IOException or TimeoutException or System.Net.Sockets.SocketException or HttpRequestException
            or OperationCanceledException or OutOfMemoryException or ObjectDisposedException => true,
        _ => error.InnerException is { } inner && IsInfrastructureFault(inner),
    };

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
