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

    public async Task OnFitEndedAsync(FitRecord fit, CancellationToken ct)
    {
        if (await CreateAsync(fit, ct) is { State: DeliveryState.Pending } e) queue.EnqueueOfFit(e.Id, fit.TraceParent);
    }

    /// <summary>The fit's event, created if the fit has ended with a webhook; null when it has none (or is gone).</summary>
    public async Task<WebhookEvent?> CreateAsync(string fitId, CancellationToken ct) =>
        await fits.GetForWorkerAsync(fitId, ct) is { } stored ? await CreateAsync(stored, ct) : null;

    /// <param name="stored">The fit's record without history; its request tells whether it asked for a webhook.</param>
    /// <param name="ct">Cancels the reads and the write.</param>
    private async Task<WebhookEvent?> CreateAsync(FitRecord stored, CancellationToken ct)
    {
        // A learning-rate finder run ends through the same path but has no webhook (and another request shape).
        if (stored.Kind != FitKinds.Fit) return null;
        // Most fits ask for no webhook: tell from the stored request before reading the history for a payload. A request
        // without the field's name in its text has none (strings in it escape their quotes), which spares most a JSON parse.
        if (!stored.RequestJson.Contains("\"webhook\"", StringComparison.Ordinal)) return null;
        if (StoredSpecs.Read<FitSpec>(stored.RequestJson)?.Webhook?.Url is null) return null;
        var fitId = stored.Id;
        var fit = await fits.GetAsync(stored.Tenant, fitId, limits.Value.MaxInlineHistory, ct);
        if (fit is null || !fit.Status.IsEnded()) return null;
        var resource = FitMapper.ToResource(fit, limits.Value.MaxInlineHistory);
        if (resource.Request.Webhook?.Url is not { } url) return null;
        if (resource.History is { Length: var n } && n > options.Value.MaxHistoryInPayload) resource = resource with { History = null };

        var type = "fit." + fit.Status.ToWire();
        var payload = JsonSerializer.Serialize(new WebhookPayload(type, fit.FinishedAt ?? clock.GetUtcNow(), resource), json.Value.SerializerOptions);
        var e = await deliveries.CreateEventAsync(
            new NewWebhookEvent(EventIdFor(fitId), fitId, fit.Tenant, url, type, payload, FitSubmitter.Truncate(clock.GetUtcNow())), ct);
        logger.LogDebug("Webhook event {EventId} ({Type}) for fit {FitId} stored", e.Id, type, fitId);
        return e;
    }
}
