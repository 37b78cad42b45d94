using FitService.Api.Storage;
using Microsoft.Extensions.Options;

namespace FitService.Api.Webhooks;

/// <summary>
/// Makes deliveries outlive restarts and crashes. At start: creates the event of every ended fit, and every completed
/// batch, that should have one (the process died between the end and its event), and schedules every pending event at its due time (the
/// embedded job queue lives in memory). Then, every <see cref="WebhookOptions.SweepInterval"/>: the same for recent
/// fits and for events overdue by a whole interval (a worker died mid-attempt). Duplicates are harmless: attempts are claimed.
/// </summary>
public sealed class WebhookRecovery(
    IDeliveryStore deliveries,
    WebhookEvents events,
    BatchCompletedEvents batches,
    IDeliveryQueue queue,
    IOptions<WebhookOptions> options,
    TimeProvider clock,
    StorageFaults faults,
    ILogger<WebhookRecovery> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (faults.Corruption is not null) return; // a corrupt file is not swept; readiness says so
        var (created, scheduled) = await StartupRetry.RunAsync(ct => PassAsync(finishedSince: null, dueBefore: null, ct), "Recovering webhooks", logger, cancellationToken);
        if (created + scheduled > 0) logger.LogInformation("Recovered webhooks: {Created} events created, {Scheduled} pending deliveries scheduled", created, scheduled);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SweepInterval;
        using var timer = new PeriodicTimer(interval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var now = clock.GetUtcNow();
                var (created, scheduled) = await PassAsync(finishedSince: now - 4 * interval, dueBefore: now - interval, stoppingToken);
                if (created + scheduled > 0) logger.LogInformation("Webhook sweep: {Created} events created, {Scheduled} overdue deliveries queued", created, scheduled);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Webhook sweep failed; trying again in {Interval}", interval);
            }
        }
    }

    private async Task<(int Created, int Scheduled)> PassAsync(DateTimeOffset? finishedSince, DateTimeOffset? dueBefore, CancellationToken ct)
    {
        var created = 0;
        foreach (var fitId in await deliveries.ListEndedFitsWithoutEventAsync(finishedSince, ct))
        {
            if (await events.CreateAsync(fitId, ct) is not null) created++;
        }
        foreach (var (batchId, tenant) in await deliveries.ListCompletedBatchesWithoutEventAsync(finishedSince, ct))
        {
            if (await batches.CreateAsync(tenant, batchId, ct) is not null) created++;
        }
        var pending = await deliveries.ListPendingAsync(dueBefore, ct);
        var now = clock.GetUtcNow();
        foreach (var (eventId, dueAt) in pending)
        {
            if (dueAt <= now) queue.Enqueue(eventId);
            else queue.Schedule(eventId, dueAt);
        }
        return (created, pending.Count);
    }
}
