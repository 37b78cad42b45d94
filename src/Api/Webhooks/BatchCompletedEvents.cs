using System.Text.Json;
using FitService.Api.Batches;
using FitService.Api.Fits;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;
using Microsoft.Extensions.Options;

namespace FitService.Api.Webhooks;

/// <summary>
/// When the last fit of a batch that asked for a webhook ends, stores one <c>batch.completed</c> event (its id is
/// derived from the batch's, so fits ending at once store it once) and hands it to the same signed, retried delivery
/// as fits' events.
/// </summary>
public sealed class BatchCompletedEvents(
    IFitReader fits,
    IDeliveryStore deliveries,
    IDeliveryQueue queue,
    IOptions<HttpJsonOptions> json,
    TimeProvider clock) : IFitGroupEndedHandler
{
    public const string Type = "batch.completed";

    public static string EventIdFor(string batchId) => "msg_batch_" + batchId;

    public async Task OnFitEndedAsync(FitRecord fit, CancellationToken ct)
    {
        if (fit.BatchId is not { } batchId || _handled.Contains(batchId)) return;
        if (await fits.HasUnfinishedFitsAsync(batchId, ct)) return;
        var e = await CreateAsync(fit.Tenant, batchId, ct);
        _handled.Add(batchId);
        if (e is { State: DeliveryState.Pending }) queue.Enqueue(e.Id);
    }

    /// <summary>
    /// Fits whose ends were stored together: each batch among them is asked once whether it has fits left (a chunk of a
    /// batch's fits asked once per fit, a read each).
    /// </summary>
    public async Task OnFitsEndedAsync(IReadOnlyList<FitRecord> ended, CancellationToken ct)
    {
        // One batch's failure (logged by the caller) does not keep the others of the group from their event.
        List<Exception>? failures = null;
        foreach (var fit in ended.Where(f => f.BatchId is not null).DistinctBy(f => f.BatchId))
        {
            try
            {
                await OnFitEndedAsync(fit, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                (failures ??= []).Add(e);
            }
        }
        if (failures is not null) throw new AggregateException(failures);
    }

    // A chunk's fits end in one write, so every fit of a batch's last chunk finds the batch finished: the first makes
    // its event (reading the whole batch), the others skip it. Only an optimisation, as making the event is idempotent.
    private readonly RecentIds _handled = new(1024);

    /// <summary>The last few ids added, in a fixed amount of memory.</summary>
    private sealed class RecentIds(int capacity)
    {
        private readonly Lock _lock = new();
        private readonly HashSet<string> _set = [];
        private readonly Queue<string> _order = new();

        public bool Contains(string id)
        {
            lock (_lock) return _set.Contains(id);
        }

        public void Add(string id)
        {
            lock (_lock)
            {
                if (!_set.Add(id)) return;
                _order.Enqueue(id);
                if (_order.Count > capacity) _set.Remove(_order.Dequeue());
            }
        }
    }

    /// <summary>The batch's event, created if all its fits have ended and it asked for a webhook; null otherwise (or when it is gone).</summary>
    public async Task<WebhookEvent?> CreateAsync(string tenant, string batchId, CancellationToken ct)
    {
        if (await fits.GetBatchAsync(tenant, batchId, ct) is not { IsEnded: true } batch) return null;
        if (StoredSpecs.Read<BatchSpec>(batch.RequestJson)?.Webhook?.Url is not { } url) return null;

        var now = FitSubmitter.Truncate(clock.GetUtcNow());
        var payload = JsonSerializer.Serialize(new BatchWebhookPayload(Type, now, BatchEndpoints.ToResource(batch)), json.Value.SerializerOptions);
        // The event's "fit" is the batch: it is what the event is about, and what must still exist when it is sent.
        return await deliveries.CreateEventAsync(new NewWebhookEvent(EventIdFor(batchId), batchId, tenant, url, Type, payload, now), ct);
    }
}
