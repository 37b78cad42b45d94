namespace FitService.Api.Storage;

/// <summary>
/// The durable record of webhook events and of every attempt to deliver them, in the same database as the fits.
/// An event is created once per fit (unique on the fit id) and delivered by attempts that claim it in turn, so
/// duplicated jobs, recovery passes and several processes never send one attempt twice.
/// </summary>
public interface IDeliveryStore
{
    /// <summary>Creates or migrates the delivery tables; run after the fit store's initialisation.</summary>
    Task InitializeAsync(CancellationToken ct);

    /// <summary>Stores the event unless the fit already has one; returns the fit's event either way.</summary>
    Task<WebhookEvent> CreateEventAsync(NewWebhookEvent e, CancellationToken ct);

    /// <summary>
    /// Stores a fit's event with its first attempt already claimed by the caller until <paramref name="claimUntil"/>, in
    /// one write: the caller sends it at once, without a claim of its own. Should the caller die first, the claim lapses
    /// and the event is pending like any other, for any process's recovery sweep. Null, and nothing stored, when the fit
    /// has an event already (whoever made it delivers it) or is gone (deleted fits have no events).
    /// </summary>
    Task<AttemptClaim?> CreateClaimedEventAsync(NewWebhookEvent e, DateTimeOffset claimUntil, CancellationToken ct);

    Task<WebhookEvent?> GetEventAsync(string eventId, CancellationToken ct);

    Task<WebhookEvent?> GetEventForFitAsync(string fitId, CancellationToken ct);

    /// <summary>Every attempt at the event, in order.</summary>
    Task<IReadOnlyList<DeliveryAttempt>> ListAttemptsAsync(string eventId, CancellationToken ct);

    /// <summary>
    /// Claims the next attempt of a pending event that is due by <paramref name="dueBy"/> and not claimed by anyone
    /// else at <paramref name="now"/>; the claim lapses at <paramref name="claimUntil"/> if its holder dies. Null when
    /// there is nothing to do.
    /// </summary>
    Task<AttemptClaim?> TryClaimAsync(string eventId, DateTimeOffset now, DateTimeOffset dueBy, DateTimeOffset claimUntil, CancellationToken ct);

    /// <summary>
    /// Records a claimed attempt and the event's next state, and releases the claim. The attempt of a claim that lapsed
    /// and was taken over is recorded but leaves the event to the new holder; nothing is stored for a deleted event.
    /// </summary>
    Task RecordAttemptAsync(string eventId, DeliveryAttempt attempt, DeliveryState nextState, DateTimeOffset? nextAttemptAt, CancellationToken ct);

    /// <summary>Starts a new round of delivery now (same webhook-id). False when an attempt is in flight or there is no such event.</summary>
    Task<bool> RedeliverAsync(string eventId, DateTimeOffset now, CancellationToken ct);

    /// <summary>Removes an event and its attempts (its fit was deleted).</summary>
    Task DeleteEventAsync(string eventId, CancellationToken ct);

    /// <summary>
    /// Pending events and when each may next be attempted (the later of its due time and any live claim), earliest
    /// first; with <paramref name="dueBefore"/> only those whose time is strictly before it.
    /// </summary>
    Task<IReadOnlyList<(string EventId, DateTimeOffset DueAt)>> ListPendingAsync(DateTimeOffset? dueBefore, CancellationToken ct);

    /// <summary>Ended fits that asked for a webhook but have no event (the process died between the two), optionally only recent ones.</summary>
    Task<IReadOnlyList<string>> ListEndedFitsWithoutEventAsync(DateTimeOffset? finishedSince, CancellationToken ct);

    /// <summary>
    /// Batches that asked for a webhook, whose fits have all ended, but that have no <c>batch.completed</c> event (the
    /// process died between the last fit's end and the event); with <paramref name="finishedSince"/> only those with a
    /// fit that ended since then.
    /// </summary>
    Task<IReadOnlyList<(string BatchId, string Tenant)>> ListCompletedBatchesWithoutEventAsync(DateTimeOffset? finishedSince, CancellationToken ct);
}

/// <summary>Where an event stands: being delivered, or done one way or another.</summary>
public enum DeliveryState { Pending, Delivered, Gone, Failed }

public static class DeliveryStateExtensions
{
    public static string ToWire(this DeliveryState state) => state switch
    {
        DeliveryState.Pending => "pending",
        DeliveryState.Delivered => "delivered",
        DeliveryState.Gone => "gone",
        _ => "failed",
    };
}

/// <summary>An event to store: its id is the <c>webhook-id</c>, its payload the exact body every attempt sends.</summary>
public sealed record NewWebhookEvent(string Id, string FitId, string Tenant, string Url, string Type, string Payload, DateTimeOffset CreatedAt);

public sealed record WebhookEvent
{
    public required string Id { get; init; }
    public required string FitId { get; init; }
    public required string Tenant { get; init; }
    public required string Url { get; init; }
    public required string Type { get; init; }
    public required string Payload { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DeliveryState State { get; init; }
    /// <summary>Attempts made so far, over all rounds.</summary>
    public int Attempts { get; init; }
    /// <summary>Attempts made before the current round (a redelivery starts a round; the backoff counts within it).</summary>
    public int RoundStart { get; init; }
    public DateTimeOffset? NextAttemptAt { get; init; }
    public DateTimeOffset? ClaimedUntil { get; init; }
}

/// <summary>A claimed attempt: its number (1-based over the event's life) and its place in the current round.</summary>
public sealed record AttemptClaim(WebhookEvent Event, int Attempt, int AttemptInRound);

/// <summary>One attempt: when, how long, and the status code or the error.</summary>
public sealed record DeliveryAttempt(int Attempt, DateTimeOffset StartedAt, TimeSpan Duration, int? StatusCode, string? Error);
