namespace FitService.Contracts;

/// <summary>The body of every webhook: the event type, when it happened, and the fit resource.</summary>
/// <param name="Type"><c>fit.succeeded</c>, <c>fit.failed</c> or <c>fit.cancelled</c>.</param>
/// <param name="Timestamp">When the fit ended.</param>
/// <param name="Data">The fit as <c>GET /v1/fits/{id}</c> shows it (history omitted above <c>Webhooks:MaxHistoryInPayload</c> entries).</param>
public sealed record WebhookPayload(string Type, DateTimeOffset Timestamp, FitResource Data);

/// <summary>The body of a batch's webhook: <c>batch.completed</c>, when, and the batch as <c>GET /v1/batches/{id}</c> shows it.</summary>
public sealed record BatchWebhookPayload(string Type, DateTimeOffset Timestamp, BatchResource Data);
