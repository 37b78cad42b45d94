using FitService.Api.Fits;
using FitService.Api.Storage;
using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>
/// Computes the optima that a stopped worker (crash, kill, shutdown) left pending: the fit's end was stored, its optimum
/// was not. In every worker process, at start and every half lease, it takes the fits the store marks pending that ended
/// more than a lease ago (a live worker computes its own well within that) and completes them as their worker would have.
/// At start of the embedded store, whose one process is this one, it takes every pending fit at once. Several processes
/// completing one fit is harmless: the optimum is deterministic and saving it is idempotent.
/// </summary>
public sealed class PendingOptimumSweeper(
    IFitWork store,
    FitRunner runner,
    StorageFaults faults,
    IOptions<WorkersOptions> workers,
    TimeProvider clock,
    ILogger<PendingOptimumSweeper> logger,
    TimeSpan startupGrace) : BackgroundService
{
    /// <summary>Fits read from the store at once.</summary>
    private const int Batch = 32;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The solves are synchronous: off the host's start-up path.
        await Task.Yield();
        var options = workers.Value;
        var grace = startupGrace;
        using var timer = new PeriodicTimer(options.SweepInterval, clock);
        do
        {
            if (faults.Corruption is not null) continue; // nothing can be read back from a corrupt file; readiness says so
            try
            {
                await SweepAsync(clock.GetUtcNow() - grace, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Pending-optimum sweep failed; trying again in {Interval}", options.SweepInterval);
            }
            grace = options.Lease;
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Completes every pending optimum of a fit that ended before <paramref name="endedBefore"/>, each at most once a pass.</summary>
    public async Task SweepAsync(DateTimeOffset endedBefore, CancellationToken ct)
    {
        var seen = new HashSet<string>();
        while (true)
        {
            var ids = (await store.ListPendingOptimaAsync(endedBefore, Batch + seen.Count, ct)).Where(seen.Add).ToList();
            if (ids.Count == 0) return;
            foreach (var id in ids)
            {
                ct.ThrowIfCancellationRequested();
                if (await store.GetForWorkerAsync(id, ct) is not { } fit || await store.GetPointsAsync(id, ct) is not { } points) continue;
                if (FitOutcome.FromJson(fit.OutcomeJson)?.OptimumPending != true)
                {
                    // Marked pending, yet its outcome says otherwise: nothing to compute, only the mark to clear.
                    await store.SaveOutcomeAsync(id, fit.OutcomeJson ?? "{}", ct);
                    continue;
                }
                logger.LogInformation("Fit {FitId}: computing the optimum its worker left pending", id);
                await runner.CompletePendingOptimumAsync(fit, points, ct);
            }
        }
    }
}
