using FitService.Api.Notifications;
using FitService.Api.Storage;
using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>
/// In worker processes of the shared store, every half lease: hands out again the fits whose worker died (lease run
/// out) and queued fits whose job may have been lost (a crash between storing and enqueueing), and ends fits that were
/// cancelled while their worker died. Several processes sweeping at once is harmless: the jobs are reentrant.
/// </summary>
public sealed class LeaseSweeper(
    IFitLeases leases,
    IFitQueue queue,
    DrainKicker drains,
    FitEndings endings,
    IOptions<WorkersOptions> workers,
    TimeProvider clock,
    ILogger<LeaseSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = workers.Value;
        using var timer = new PeriodicTimer(options.SweepInterval, clock);
        do
        {
            try
            {
                await SweepAsync(options, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Lease sweep failed; trying again in {Interval}", options.SweepInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task SweepAsync(WorkersOptions options, CancellationToken ct)
    {
        var found = await leases.SweepAsync(options.SmallFitWork, options.OrphanAge, clock.GetUtcNow(), ct);
        foreach (var id in found.Cancelled)
            await endings.EndedAsync(new FitSignal(id, true, 0, null, null), FitStatus.Cancelled);
        foreach (var id in found.BigFits) queue.Enqueue(id);
        if (found.SmallFitsWaiting) drains.Kick();
        if (found.BigFits.Count > 0 || found.Cancelled.Count > 0)
        {
            logger.LogInformation("Sweep: {Big} fits handed out again, {Cancelled} cancelled fits of lost workers ended{Small}",
                found.BigFits.Count, found.Cancelled.Count, found.SmallFitsWaiting ? ", a drain for waiting small fits" : "");
        }
    }
}
