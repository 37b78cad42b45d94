using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace FitService.Api.Webhooks;

/// <summary>
/// The delivery queue of a worker process on PostgreSQL: an event that ends here is delivered by this process's own
/// delivery workers at once, rather than through a Hangfire job per event, whose own rate on PostgreSQL (tens to a
/// hundred jobs a second, several statements each) put a backlog of hundreds of milliseconds to seconds between a
/// fit's end and its webhook. Nothing is lost if the process dies with events in hand: they are pending in the store,
/// and the recovery sweep (<see cref="WebhookRecovery"/>) of any process queues them again. Retries are scheduled
/// Hangfire jobs as before (durable, and seconds away anyway), and so is whatever this queue cannot take.
/// </summary>
public sealed class DirectDeliveryQueue(
    HangfireDeliveryQueue hangfire,
    IServiceScopeFactory scopes,
    IOptions<WebhookOptions> options,
    ILogger<DirectDeliveryQueue> logger) : BackgroundService, IDeliveryQueue
{
    /// <summary>Events held in memory at most; past this (receivers far slower than fits end) events go to Hangfire.</summary>
    public const int Capacity = 10_000;

    private readonly Channel<Queued> _events = Channel.CreateBounded<Queued>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait });

    public void Enqueue(string eventId)
    {
        if (!_events.Writer.TryWrite(new Queued(eventId, null))) hangfire.Enqueue(eventId);
    }

    /// <summary>
    /// Delivered without reading the fit again: one round trip less between a fit's end and its webhook, and no wait for
    /// the fit store's few connections, which the drains need.
    /// </summary>
    public void EnqueueOfFit(string eventId, string? fitTraceParent)
    {
        if (!_events.Writer.TryWrite(new Queued(eventId, new KnownFit(fitTraceParent)))) hangfire.Enqueue(eventId);
    }

    public void Schedule(string eventId, DateTimeOffset at) => hangfire.Schedule(eventId, at);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Math.Max(1, options.Value.Workers)).Select(_ => Task.Run(() => DeliverAsync(stoppingToken), stoppingToken)));

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _events.Writer.TryComplete();
        return base.StopAsync(cancellationToken);
    }

    private async Task DeliverAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (eventId, fit) in _events.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredService<WebhookDeliveryJob>().DeliverAsync(eventId, fit, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // Our own infrastructure failed (the store, most likely): a Hangfire job retries it, as it did before.
                    logger.LogWarning(e, "Webhook {WebhookId} could not be delivered here; handed to the job queue", eventId);
                    try
                    {
                        hangfire.Enqueue(eventId);
                    }
                    catch (Exception queueError)
                    {
                        logger.LogWarning(queueError, "Webhook {WebhookId} left to the recovery sweep", eventId);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: what is left is pending in the store, for the recovery sweep.
        }
    }

    private readonly record struct Queued(string EventId, KnownFit? Fit);
}
