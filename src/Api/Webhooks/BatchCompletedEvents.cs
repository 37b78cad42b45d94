using System.Text.Json;
using FitService.Api.Batches;
using FitService.Api.Fits;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;
using Microsoft.Extensions.Options;

namespace FitService.Api.Webhooks;

/// <summary>The body of a batch's webhook: <c>batch.completed</c>, when, and the batch as <c>GET /v1/batches/{id}</c> shows it.</summary>
public sealed record BatchWebhookPayload(string Type, DateTimeOffset Timestamp, BatchResource Data);

/// <summary>
/// When the last fit of a batch that asked for a webhook ends, stores one <c>batch.completed</c> event (its id is
/// derived from the batch's, so fits ending at once store it once) and hands it to the same signed, retried delivery
/// as fits' events.
/// </summary>
public sealed class BatchCompletedEvents(
    IFitStore fits,
    IDeliveryStore deliveries,
    IDeliveryQueue queue,
    IOptions<HttpJsonOptions> json,
    TimeProvider clock) : IFitEndedHandler
{
    public const string Type = "batch.completed";

    public static string EventIdFor(string batchId) => "msg_batch_" + batchId;

    public async Task OnFitEndedAsync(string fitId, CancellationToken ct)
    {
        if (await fits.GetForWorkerAsync(fitId, ct) is not { BatchId: { } batchId } fit) return;
        if (await fits.HasUnfinishedFitsAsync(batchId, ct)) return;
        if (await fits.GetBatchAsync(fit.Tenant, batchId, ct) is not { IsEnded: true } batch) return;
        if (JsonSerializer.Deserialize<BatchSpec>(batch.RequestJson, FitRequestReader.Strict)?.Webhook?.Url is not { } url) return;

        var now = FitSubmitter.Truncate(clock.GetUtcNow());
        var payload = JsonSerializer.Serialize(new BatchWebhookPayload(Type, now, BatchEndpoints.ToResource(batch)), json.Value.SerializerOptions);
        // The event's "fit" is the batch: it is what the event is about, and what must still exist when it is sent.
        var e = await deliveries.CreateEventAsync(new NewWebhookEvent(EventIdFor(batchId), batchId, fit.Tenant, url, Type, payload, now), ct);
        if (e.State == DeliveryState.Pending) queue.Enqueue(e.Id);
    }
}
