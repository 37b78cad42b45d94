using System.Threading.Channels;
using FitService.Api.Storage;
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
        if (!_events.Writer.TryWrite(new Queued(eventId, null, null))) hangfire.Enqueue(eventId);
    }

    public bool SendsClaimed => true;

    /// <summary>Sent as it is: the store claimed the attempt for this process as it stored the event (of a fit that exists).</summary>
    public void EnqueueClaimed(AttemptClaim claim, string? fitTraceParent)
    {
        // Full (receivers far slower than fits end): a job takes the event once the claim lapses, as after a crash.
        if (!_events.Writer.TryWrite(new Queued(claim.Event.Id, claim, new KnownFit(fitTraceParent))))
            hangfire.Schedule(claim.Event.Id, Lapse(claim));
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
            await foreach (var (eventId, claim, fit) in _events.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    var job = scope.ServiceProvider.GetRequiredService<WebhookDeliveryJob>();
                    await (claim is null ? job.DeliverAsync(eventId, stoppingToken) : job.SendAsync(claim, fit, stoppingToken));
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // Our own infrastructure failed (the store, most likely): a Hangfire job retries it, as it did before.
                    logger.LogWarning(e, "Webhook {WebhookId} could not be delivered here; handed to the job queue", eventId);
                    try
                    {
                        // An attempt claimed here stays claimed until its claim lapses: the job comes then.
                        if (claim is null) hangfire.Enqueue(eventId);
                        else hangfire.Schedule(eventId, Lapse(claim));
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

    private static DateTimeOffset Lapse(AttemptClaim claim) => claim.Event.ClaimedUntil ?? claim.Event.CreatedAt;

    /// <summary>An event to claim and send, or an attempt claimed already (with what its creator knew of the fit).</summary>
    private readonly record struct Queued(string EventId, AttemptClaim? Claim, KnownFit? Fit);
}
