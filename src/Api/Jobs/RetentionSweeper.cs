using FitService.Api.Storage;
using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>
/// Removes ended fits older than their retention (<see cref="RetentionOptions"/>), in bounded batches, so the store does
/// not grow forever. Runs in every process with workers; several sweeping at once is harmless (PostgreSQL skips rows
/// another sweep is deleting; SQLite has one process).
/// </summary>
public sealed class RetentionSweeper(IFitRetention store, IOptions<RetentionOptions> options, TimeProvider clock, ILogger<RetentionSweeper> logger)
    : BackgroundService
{
    /// <summary>Batches one sweep deletes at most per status, so a backlog (retention just shortened) is worked off over several sweeps.</summary>
    public const int MaxBatchesPerSweep = 100;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.IntervalSeconds)), clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Retention sweep failed; trying again at the next one");
            }
        }
    }

    /// <summary>One sweep: for each status, deletes batches of expired fits until none is left (or the sweep's cap). Returns the fits removed.</summary>
    public async Task<int> SweepAsync(CancellationToken ct)
    {
        var settings = options.Value;
        var batch = Math.Max(1, settings.BatchSize);
        var now = clock.GetUtcNow();
        var removed = 0;
        foreach (var (status, scope, keptFor) in RetentionPlan.Of(settings))
        {
            for (var i = 0; i < MaxBatchesPerSweep; i++)
            {
                var deleted = await store.DeleteEndedAsync(status, now - keptFor, batch, scope, ct);
                removed += deleted;
                if (deleted < batch) break;
            }
        }
        if (removed > 0) logger.LogInformation("Retention: removed {Count} ended fits", removed);
        return removed;
    }
}
