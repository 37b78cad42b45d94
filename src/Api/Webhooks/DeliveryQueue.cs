using Hangfire;

namespace FitService.Api.Webhooks;

/// <summary>Hands webhook events to the delivery workers. Only the event id travels.</summary>
public interface IDeliveryQueue
{
    void Enqueue(string eventId);
    void Schedule(string eventId, DateTimeOffset at);

    /// <summary>
    /// The first attempt of a fit's event created a moment ago from the stored fit: a queue that delivers in this process
    /// may skip reading the fit again (deleting a fit deletes its events, so the claim finds none of a deleted fit's).
    /// </summary>
    /// <param name="eventId">The event.</param>
    /// <param name="fitTraceParent">The fit's stored <c>traceparent</c>, which the attempt's span continues.</param>
    void EnqueueOfFit(string eventId, string? fitTraceParent) => Enqueue(eventId);
}

public sealed class HangfireDeliveryQueue(IBackgroundJobClient jobs) : IDeliveryQueue
{
    /// <summary>Served by its own Hangfire server, so slow receivers never hold up fits (and long fits never delay webhooks).</summary>
    public const string Queue = "webhooks";

    public void Enqueue(string eventId) => jobs.Enqueue<WebhookDeliveryJob>(Queue, job => job.DeliverAsync(eventId, CancellationToken.None));

    public void Schedule(string eventId, DateTimeOffset at) =>
        jobs.Schedule<WebhookDeliveryJob>(Queue, job => job.DeliverAsync(eventId, CancellationToken.None), at);
}
