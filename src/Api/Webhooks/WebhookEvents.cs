using System.Text.Json;
using FitService.Api.Fits;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace FitService.Api.Webhooks;

/// <summary>The body of every webhook: the event type, when it happened, and the fit resource.</summary>
/// <param name="Type"><c>fit.succeeded</c>, <c>fit.failed</c> or <c>fit.cancelled</c>.</param>
/// <param name="Timestamp">When the fit ended.</param>
/// <param name="Data">The fit as <c>GET /v1/fits/{id}</c> shows it (history omitted above <c>Webhooks:MaxHistoryInPayload</c> entries).</param>
public sealed record WebhookPayload(string Type, DateTimeOffset Timestamp, FitResource Data);

/// <summary>
/// Turns the end of a fit that asked for a webhook into a stored event (idempotent: one per fit) and hands it to the
/// delivery queue. The payload is frozen here, so every attempt sends the very same body.
/// </summary>
public sealed class WebhookEvents(
    IFitStore fits,
    IDeliveryStore deliveries,
    IDeliveryQueue queue,
    IOptions<WebhookOptions> options,
    IOptions<HttpJsonOptions> json,
    TimeProvider clock,
    ILogger<WebhookEvents> logger) : IFitEndedHandler
{
    public static string EventIdFor(string fitId) => "msg_" + fitId;

    public async Task OnFitEndedAsync(FitRecord fit, CancellationToken ct)
    {
        if (await CreateAsync(fit, ct) is { State: DeliveryState.Pending } e) queue.Enqueue(e.Id);
    }

    /// <summary>The fit's event, created if the fit has ended with a webhook; null when it has none (or is gone).</summary>
    public async Task<WebhookEvent?> CreateAsync(string fitId, CancellationToken ct) =>
        await fits.GetForWorkerAsync(fitId, ct) is { } stored ? await CreateAsync(stored, ct) : null;

    /// <param name="stored">The fit's record without history; its request tells whether it asked for a webhook.</param>
    /// <param name="ct">Cancels the reads and the write.</param>
    private async Task<WebhookEvent?> CreateAsync(FitRecord stored, CancellationToken ct)
    {
        // Most fits ask for no webhook: tell from the stored request before reading the history for a payload. A finder
        // run has no webhook (and its request is not a fit's).
        if (stored.Kind != FitKinds.Fit) return null;
        if (JsonSerializer.Deserialize<FitSpec>(stored.RequestJson, FitRequestReader.Strict)?.Webhook?.Url is null) return null;
        var fitId = stored.Id;
        var fit = await fits.GetAsync(stored.Tenant, fitId, includeHistory: true, ct);
        if (fit is null || !fit.Status.IsEnded()) return null;
        var resource = FitMapper.ToResource(fit);
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
