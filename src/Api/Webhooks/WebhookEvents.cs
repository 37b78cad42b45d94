using System.Text.Json;
using FitService.Api.Fits;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace FitService.Api.Webhooks;

/// <summary>
/// Turns the end of a fit that asked for a webhook into a stored event (idempotent: one per fit) and hands it to the
/// delivery queue. The payload is frozen here, so every attempt sends the very same body.
/// </summary>
public sealed class WebhookEvents(
    IFitReader fits,
    IDeliveryStore deliveries,
    IDeliveryQueue queue,
    IOptions<WebhookOptions> options,
    IOptions<LimitsOptions> limits,
    IOptions<HttpJsonOptions> json,
    TimeProvider clock,
    ILogger<WebhookEvents> logger) : IFitEndedHandler
{
    public static string EventIdFor(string fitId) => "msg_" + fitId;

    /// <summary>
    /// Where the queue sends in this process, the event is stored with its first attempt claimed and handed straight to a
    /// delivery worker; elsewhere it is stored pending and queued, and the attempt is claimed when it runs.
    /// </summary>
    public async Task OnFitEndedAsync(FitRecord fit, CancellationToken ct)
    {
        if (!queue.SendsClaimed)
        {
            if (await CreateAsync(fit, claimUntil: null, ct) is { Event.State: DeliveryState.Pending } e) queue.Enqueue(e.Event.Id);
            return;
        }
        if (await CreateAsync(fit, claimUntil: WebhookDeliveryJob.ClaimUntil(clock.GetUtcNow(), options.Value), ct) is { Claim: { } claim })
            queue.EnqueueClaimed(claim, fit.TraceParent);
    }

    /// <summary>The fit's event, created if the fit has ended with a webhook; null when it has none (or is gone).</summary>
    public async Task<WebhookEvent?> CreateAsync(string fitId, CancellationToken ct) =>
        await fits.GetForWorkerAsync(fitId, ct) is { } stored ? (await CreateAsync(stored, claimUntil: null, ct))?.Event : null;

    /// <param name="fit">
    /// The fit's record. One that reads ended with its history (a worker's, see <see cref="IFitEndedHandler"/>) is the
    /// payload's source as it is; any other tells only whether the fit asked for a webhook, and the fit is read for the payload.
    /// </param>
    /// <param name="claimUntil">Store the event with its first attempt claimed by this process until then; null: pending.</param>
    /// <param name="ct">Cancels the reads and the write.</param>
    /// <returns>The event and, if it was stored claimed, the claim; null when there is no event to make (or, claimed, one exists).</returns>
    private async Task<(WebhookEvent Event, AttemptClaim? Claim)?> CreateAsync(FitRecord fit, DateTimeOffset? claimUntil, CancellationToken ct)
    {
        // A learning-rate finder run ends through the same path but has no webhook (and another request shape).
        if (fit.Kind != FitKinds.Fit) return null;
        // Most fits ask for no webhook: tell from the stored request before reading the history for a payload. A request
        // without the field's name in its text has none (strings in it escape their quotes), which spares most a JSON parse.
        if (!fit.RequestJson.Contains("\"webhook\"", StringComparison.Ordinal)) return null;
        var spec = StoredSpecs.Read<FitSpec>(fit.RequestJson);
        if (spec?.Webhook?.Url is not { } url) return null;
        var fitId = fit.Id;
        // The ended record a worker holds reads as the stored fit would (FitLifecycle.Ended): no round trip to read it back.
        var ended = fit.Status.IsEnded() && fit.History is not null ? fit : await fits.GetAsync(fit.Tenant, fitId, limits.Value.MaxInlineHistory, ct);
        if (ended is null || !ended.Status.IsEnded()) return null;
        var resource = FitMapper.ToResource(ended, limits.Value.MaxInlineHistory, spec);
        if (resource.History is { Length: var n } && n > options.Value.MaxHistoryInPayload) resource = resource with { History = null };

        var type = "fit." + ended.Status.ToWire();
        var payload = JsonSerializer.Serialize(new WebhookPayload(type, ended.FinishedAt ?? clock.GetUtcNow(), resource), json.Value.SerializerOptions);
        var created = new NewWebhookEvent(EventIdFor(fitId), fitId, ended.Tenant, url, type, payload, FitSubmitter.Truncate(clock.GetUtcNow()));
        if (claimUntil is { } until)
        {
            if (await deliveries.CreateClaimedEventAsync(created, until, ct) is not { } claim) return null;
            logger.LogDebug("Webhook event {EventId} ({Type}) for fit {FitId} stored, its first attempt claimed", claim.Event.Id, type, fitId);
            return (claim.Event, claim);
        }
        var e = await deliveries.CreateEventAsync(created, ct);
        logger.LogDebug("Webhook event {EventId} ({Type}) for fit {FitId} stored", e.Id, type, fitId);
        return (e, null);
    }
}
