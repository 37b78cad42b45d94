namespace FitService.Api.Storage;

/// <summary>
/// The webhook delivery store of <c>Storage:Provider=postgres</c> until a shared one exists: it holds nothing, and
/// submissions with a webhook are refused in that mode (<see cref="Webhooks.WebhookUrlPolicy"/>), so no event is ever
/// created here and the recovery passes find nothing to do.
/// </summary>
public sealed class UnavailableDeliveryStore : IDeliveryStore
{
    public const string Reason = "webhooks are not available with Storage:Provider=postgres yet (no shared delivery store)";

    public Task InitializeAsync(CancellationToken ct) => Task.CompletedTask;
    public Task<WebhookEvent> CreateEventAsync(NewWebhookEvent e, CancellationToken ct) => throw new NotSupportedException(Reason);
    public Task<WebhookEvent?> GetEventAsync(string eventId, CancellationToken ct) => Task.FromResult<WebhookEvent?>(null);
    public Task<WebhookEvent?> GetEventForFitAsync(string fitId, CancellationToken ct) => Task.FromResult<WebhookEvent?>(null);
    public Task<IReadOnlyList<DeliveryAttempt>> ListAttemptsAsync(string eventId, CancellationToken ct) => Task.FromResult<IReadOnlyList<DeliveryAttempt>>([]);
    public Task<AttemptClaim?> TryClaimAsync(string eventId, DateTimeOffset now, DateTimeOffset dueBy, DateTimeOffset claimUntil, CancellationToken ct) =>
        Task.FromResult<AttemptClaim?>(null);
    public Task RecordAttemptAsync(string eventId, DeliveryAttempt attempt, DeliveryState next, DateTimeOffset? nextAttemptAt, CancellationToken ct) =>
        throw new NotSupportedException(Reason);
    public Task<bool> RedeliverAsync(string eventId, DateTimeOffset now, CancellationToken ct) => Task.FromResult(false);
    public Task DeleteEventAsync(string eventId, CancellationToken ct) => Task.CompletedTask;
    public Task<IReadOnlyList<(string EventId, DateTimeOffset DueAt)>> ListPendingAsync(DateTimeOffset? dueBefore, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<(string, DateTimeOffset)>>([]);
    public Task<IReadOnlyList<string>> ListEndedFitsWithoutEventAsync(DateTimeOffset? finishedSince, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<string>>([]);
}
