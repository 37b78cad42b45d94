using FitService.Api.Metrics;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Api.Tracing;
using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>
/// Runs a small new fit submitted with <c>Prefer: wait</c> on its own request, before storing it, and then stores it
/// already ended — request, points, results, history and outcome — in one write (<see cref="IFitSubmissions.CreateEndedAsync"/>,
/// which joins the SQLite writer's group commit; one INSERT on PostgreSQL). The engine needs microseconds for such a fit,
/// far less than the writes of queueing, starting and ending it. Accepted still means stored: the client hears of the fit
/// only once that write has committed; should the process die before, nothing was stored and nothing was answered.
/// Nobody ever sees the fit queued or running, so no lease, cancellation or progress applies. Any process runs such fits,
/// an API-only one (<c>Workers:Count=0</c>) too, at most one per core at once; beyond that, or when the run cannot go
/// on (shutdown, a fault of the infrastructure), the fit is stored queued and goes to the workers as usual.
/// </summary>
public sealed class InlineFits(
    IFitSubmissions store,
    FitRunner runner,
    FitEndings endings,
    FitMetrics metrics,
    IOptions<WorkersOptions> workers,
    IHostApplicationLifetime lifetime,
    TimeProvider clock,
    ILogger<InlineFits> logger)
{
    /// <summary>Inline runs in progress (a count, not a semaphore: a request never waits for a slot, it queues instead).</summary>
    private int _running;

    /// <summary>Whether fits of this much work run on their request: up to <c>Workers:InlineFitWork</c> (0 queues every fit).</summary>
    public bool Takes(double work) => work <= workers.Value.InlineFitWork;

    /// <summary>
    /// Runs the fit and stores it ended. The result is the store's: the fit created ended, or the fit an earlier request
    /// stored under the same idempotency key (this run's result is then dropped, as a replay stores nothing). Null when
    /// the fit did not run here (no free slot, a shutdown, an infrastructure fault): the caller stores it queued.
    /// </summary>
    public async Task<CreateResult?> TrySubmitAsync(NewFit fit, CancellationToken ct)
    {
        if (Interlocked.Increment(ref _running) > Environment.ProcessorCount)
        {
            Interlocked.Decrement(ref _running);
            return null;
        }
        FitCompletion? completion;
        DateTimeOffset startedAt;
        try
        {
            (completion, startedAt) = Run(fit);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
        if (completion is null) return null;

        var result = await store.CreateEndedAsync(fit, startedAt, completion, ct);
        if (result.Outcome != CreateOutcome.Created) return result;
        var ended = result.Fit!;
        metrics.Submitted();
        logger.LogInformation("Fit {FitId} ran on its request: {Status} ({StopReason}) after {Step} steps, loss {Loss}",
            ended.Id, completion.Status.ToWire(), completion.StopReason, completion.Step, completion.Loss);
        await endings.StoredEndedAsync(ended);
        return result;
    }

    /// <summary>The fit's end as its worker would store it (its optimum included), or null when it must be queued instead.</summary>
    private (FitCompletion? Completion, DateTimeOffset StartedAt) Run(NewFit fit)
    {
        var shutdown = lifetime.ApplicationStopping;
        var startedAt = clock.GetUtcNow();
        // The record a worker would have started: the first attempt of a running fit.
        var running = FitLifecycle.Started(FitLifecycle.Queued(fit), startedAt).Fit!;
        var points = new FitPoints(fit.X, fit.Y, fit.Weights);
        using var span = FitTracing.StartRun(fit.Id, running.Attempt, fit.TraceParent);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        FitCompletion? completion;
        try
        {
            completion = runner.Run(running, points, stop, shutdown, stored: false);
        }
        catch (Exception e) when (!FitRunner.IsInfrastructureFault(e))
        {
            // The engine's own error: deterministic, so the fit fails with it, as a worker would store it.
            logger.LogError(e, "Fit {FitId} cannot be computed; it fails without a retry", fit.Id);
            completion = runner.CannotRun(e);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Fit {FitId} could not run on its request; it is queued", fit.Id);
            return (null, startedAt);
        }
        // Null: the server is shutting down; the fit is queued, and its worker (or recovery at start) runs it. Otherwise the
        // end carries its optimum (a worker stores it after the end), unless a shutdown left it pending for the sweep.
        return (completion, startedAt);
    }
}
