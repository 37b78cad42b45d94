using Hangfire;

namespace FitService.Api.Webhooks;

/// <summary>Hands webhook events to the delivery workers. Only the event id travels.</summary>
public interface IDeliveryQueue
{
    void Enqueue(string eventId);
    void Schedule(string eventId, DateTimeOffset at);
}

public sealed class HangfireDeliveryQueue(IBackgroundJobClient jobs) : IDeliveryQueue
{
    /// <summary>Served by its own Hangfire server, so slow receivers never hold up fits (and long fits never delay webhooks).</summary>
    public const string Queue = "webhooks";

    public void Enqueue(string eventId) => jobs.Enqueue<WebhookDeliveryJob>(Queue, job => job.DeliverAsync(eventId, CancellationToken.None));

    public void Schedule(string eventId, DateTimeOffset at) =>
        jobs.Schedule<WebhookDeliveryJob>(Queue, job => job.DeliverAsync(eventId, CancellationToken.None), at);
}
