using FitService.Api.Storage;
using Hangfire;

namespace FitService.Api.Webhooks;

/// <summary>Hands webhook events to the delivery workers. Only the event id travels.</summary>
public interface IDeliveryQueue
{
    void Enqueue(string eventId);
    void Schedule(string eventId, DateTimeOffset at);

    /// <summary>
    /// Whether this queue sends attempts in this process, so that a fit's event may be stored with its first attempt
    /// claimed (<see cref="IDeliveryStore.CreateClaimedEventAsync"/>) and handed over with <see cref="EnqueueClaimed"/>:
    /// one round trip less between a fit's end and its webhook. A queue whose attempts another process may run claims
    /// them when they run.
    /// </summary>
    bool SendsClaimed => false;

    /// <summary>The first attempt of a fit's event, claimed by this process as the event was stored: sent without a claim.</summary>
    /// <param name="claim">The claim the store answered.</param>
    /// <param name="fitTraceParent">The fit's stored <c>traceparent</c>, which the attempt's span continues.</param>
    void EnqueueClaimed(AttemptClaim claim, string? fitTraceParent) =>
        throw new InvalidOperationException($"{GetType().Name} does not send claimed attempts");
}

public sealed class HangfireDeliveryQueue(IBackgroundJobClient jobs) : IDeliveryQueue
{
    /// <summary>Served by its own Hangfire server, so slow receivers never hold up fits (and long fits never delay webhooks).</summary>
    public const string Queue = "webhooks";

    public void Enqueue(string eventId) => jobs.Enqueue<WebhookDeliveryJob>(Queue, job => job.DeliverAsync(eventId, CancellationToken.None));

    public void Schedule(string eventId, DateTimeOffset at) =>
        jobs.Schedule<WebhookDeliveryJob>(Queue, job => job.DeliverAsync(eventId, CancellationToken.None), at);
}
