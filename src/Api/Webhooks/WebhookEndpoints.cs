using System.Text.Json;
using FitService.Api.Auth;
using FitService.Api.Batches;
using FitService.Api.Fits;
using FitService.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FitService.Api.Webhooks;

public static class WebhookEndpoints
{
    public static RouteGroupBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/fits/{id}/deliveries").WithTags("Webhooks");

        group.MapGet("/", List).WithName("ListDeliveries")
            .WithSummary("List a fit's webhook delivery attempts")
            .WithDescription("The event (its `webhookId`, type and state: pending, delivered, gone or failed), when the next attempt is due, " +
                "and every attempt with its time, status code or error, and duration. Empty until the fit ends.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPost("/retry", Retry).WithName("RedeliverWebhook")
            .WithSummary("Send a fit's webhook again")
            .WithDescription("Delivers the event again now, with the same `webhook-id` (a fresh timestamp and signature), and retries on the " +
                "usual schedule if that fails. 202 with the deliveries; 409 if the fit has no webhook, has not ended, or an attempt is in flight.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        var batches = app.MapGroup("/v1/batches/{id}/deliveries").WithTags("Webhooks");
        batches.MapGet("/", ListForBatch).WithName("ListBatchDeliveries")
            .WithSummary("List a batch's webhook delivery attempts")
            .WithDescription("The `batch.completed` event of a batch submitted with a top-level `webhook`, as for a fit: its state, when the next " +
                "attempt is due, and every attempt. Empty until the batch completes.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        batches.MapPost("/retry", RetryForBatch).WithName("RedeliverBatchWebhook")
            .WithSummary("Send a batch's webhook again")
            .WithDescription("Delivers the `batch.completed` event again now, with the same `webhook-id`. 202 with the deliveries; 409 if the " +
                "batch has no webhook, has not completed, or an attempt is in flight.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return group;
    }

    public static async Task<Results<Ok<DeliveryList>, ProblemHttpResult>> List(
        string id, HttpContext http, IFitReader fits, IDeliveryStore deliveries, CancellationToken ct)
    {
        var fit = await fits.GetAsync(http.Tenant(), id, includeHistory: false, ct);
        if (fit is null) return FitEndpoints.NotFound(id);
        return TypedResults.Ok(await ReadAsync(fit.Id, FitMapper.ToResource(fit, 0).Request.Webhook?.Url, deliveries, ct));
    }

    public static async Task<Results<Ok<DeliveryList>, ProblemHttpResult>> ListForBatch(
        string id, HttpContext http, IFitReader fits, IDeliveryStore deliveries, CancellationToken ct)
    {
        var batch = await fits.GetBatchAsync(http.Tenant(), id, ct);
        if (batch is null) return BatchEndpoints.NotFound(id);
        return TypedResults.Ok(await ReadAsync(batch.Id, UrlOf(batch), deliveries, ct));
    }

    public static async Task<Results<Accepted<DeliveryList>, ProblemHttpResult>> RetryForBatch(
        string id, HttpContext http, IFitReader fits, IDeliveryStore deliveries, BatchCompletedEvents events, IDeliveryQueue queue, TimeProvider clock,
        CancellationToken ct)
    {
        var tenant = http.Tenant();
        var batch = await fits.GetBatchAsync(tenant, id, ct);
        if (batch is null) return BatchEndpoints.NotFound(id);
        // A batch's event carries the batch id where a fit's carries the fit id.
        var e = await deliveries.GetEventForFitAsync(id, ct) ?? await events.CreateAsync(tenant, id, ct);
        return await ResendAsync(e, "batch", id, UrlOf(batch), batch.IsEnded, "has not completed", deliveries, queue, clock, ct);
    }

    private static string? UrlOf(BatchRecord batch) => StoredSpecs.Read<BatchSpec>(batch.RequestJson)?.Webhook?.Url;

    public static async Task<Results<Accepted<DeliveryList>, ProblemHttpResult>> Retry(
        string id, HttpContext http, IFitReader fits, IDeliveryStore deliveries, WebhookEvents events, IDeliveryQueue queue, TimeProvider clock, CancellationToken ct)
    {
        var fit = await fits.GetAsync(http.Tenant(), id, includeHistory: false, ct);
        if (fit is null) return FitEndpoints.NotFound(id);
        // Normally made when the fit ended; made here too if that was lost (the recovery pass would make it later).
        var e = await deliveries.GetEventForFitAsync(id, ct) ?? await events.CreateAsync(id, ct);
        return await ResendAsync(e, "fit", id, FitMapper.ToResource(fit, 0).Request.Webhook?.Url, fit.Status.IsEnded(), "has not ended", deliveries, queue, clock, ct);
    }

    /// <summary>
    /// Sends a fit's or a batch's event again (<c>kind</c> "fit" or "batch" names it in messages and in the location):
    /// 409 when there is none (no webhook, or not ended yet) or an attempt is in flight.
    /// </summary>
    private static async Task<Results<Accepted<DeliveryList>, ProblemHttpResult>> ResendAsync(
        WebhookEvent? e, string kind, string ownerId, string? url, bool ended, string notEnded,
        IDeliveryStore deliveries, IDeliveryQueue queue, TimeProvider clock, CancellationToken ct)
    {
        var owner = $"{kind} '{ownerId}'";
        if (e is null)
        {
            var sentence = ended ? $"{owner} asked for no webhook." : $"{owner} {notEnded} yet; its webhook is sent when it does.";
            return Conflict(char.ToUpperInvariant(sentence[0]) + sentence[1..]);
        }
        if (!await deliveries.RedeliverAsync(e.Id, clock.GetUtcNow(), ct))
        {
            return Conflict($"An attempt to deliver the webhook of {owner} is in progress; see its deliveries.");
        }
        queue.Enqueue(e.Id);
        var collection = kind == "batch" ? "batches" : "fits";
        return TypedResults.Accepted($"/v1/{collection}/{ownerId}/deliveries", await ReadAsync(ownerId, url, deliveries, ct));
    }

    /// <param name="ownerId">The fit's id, or the batch's for its <c>batch.completed</c> event.</param>
    /// <param name="url">Where the webhook goes, as the request asked (shown before the event exists).</param>
    /// <param name="deliveries">The delivery store.</param>
    /// <param name="ct">Cancels the reads.</param>
    private static async Task<DeliveryList> ReadAsync(string ownerId, string? url, IDeliveryStore deliveries, CancellationToken ct)
    {
        if (await deliveries.GetEventForFitAsync(ownerId, ct) is not { } e) return new DeliveryList { Url = url, Items = [] };
        var attempts = await deliveries.ListAttemptsAsync(e.Id, ct);
        return new DeliveryList
        {
            Url = e.Url,
            WebhookId = e.Id,
            Type = e.Type,
            State = e.State.ToWire(),
            NextAttemptAt = e.State == DeliveryState.Pending ? e.NextAttemptAt : null,
            Items = attempts.Select(a => new DeliveryAttemptDto(a.Attempt, a.StartedAt, a.StatusCode, a.Error, (long)a.Duration.TotalMilliseconds)).ToList(),
        };
    }

    private static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The webhook cannot be sent now", detail: detail);
}
