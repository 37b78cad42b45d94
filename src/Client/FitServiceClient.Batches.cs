using System.Runtime.CompilerServices;
using System.Text.Json;
using FitService.Contracts;

namespace FitService.Client;

/// <summary>The forms of a batch's results.</summary>
public enum BatchResultsFormat
{
    /// <summary><c>application/x-ndjson</c>: one <see cref="BatchResult"/> JSON object a line.</summary>
    JsonLines,

    /// <summary><c>text/csv</c>: <c>label,status,stopReason,loss,p0,p1,…</c>.</summary>
    Csv,
}

public sealed partial class FitServiceClient
{
    /// <summary>The <c>status</c> of a batch whose fits have all ended.</summary>
    public const string BatchCompleted = "completed";

    /// <summary><c>POST /v1/batches</c>: many fits at once, all or nothing (an invalid item's errors are named <c>fits[i].field</c>).</summary>
    public Task<BatchResource> SubmitBatchAsync(BatchRequest request, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendJsonAsync<BatchResource>(WithIdempotencyKey(Request(HttpMethod.Post, "v1/batches", request), idempotencyKey), null, cancellationToken);
    }

    /// <summary><c>GET /v1/batches/{id}</c>; with <paramref name="wait"/>, answered as soon as every fit has ended or after that long.</summary>
    public Task<BatchResource> GetBatchAsync(string id, TimeSpan? wait = null, CancellationToken cancellationToken = default) =>
        SendJsonAsync<BatchResource>(Request(HttpMethod.Get, $"v1/batches/{Segment(id)}"), wait, cancellationToken);

    /// <summary>Waits until every fit of the batch has ended and returns the batch.</summary>
    public Task<BatchResource> WaitBatchAsync(string id, CancellationToken cancellationToken = default) =>
        WaitUntilAsync((wait, ct) => GetBatchAsync(id, wait, ct), b => b.Status == BatchCompleted, cancellationToken);

    /// <summary><c>GET /v1/batches/{id}/results</c> as JSON lines, read and yielded one result at a time, in item order.</summary>
    public async IAsyncEnumerable<BatchResult> GetBatchResultsAsync(string id, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var stream = await GetBatchResultsStreamAsync(id, BatchResultsFormat.JsonLines, cancellationToken);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return JsonSerializer.Deserialize<BatchResult>(line, FitServiceJson.Options)
                ?? throw new JsonException($"A null line in the results of batch {id}.");
        }
    }

    /// <summary>The batch's results exactly as the service writes them, as a stream (dispose it).</summary>
    public Task<Stream> GetBatchResultsStreamAsync(string id, BatchResultsFormat format, CancellationToken cancellationToken = default) =>
        SendStreamAsync(Request(HttpMethod.Get, $"v1/batches/{Segment(id)}/results", accept: format == BatchResultsFormat.Csv ? "text/csv" : "application/x-ndjson"),
            cancellationToken);

    /// <summary><c>POST /v1/batches/{id}/cancel</c>: cancels every fit of the batch that has not ended.</summary>
    public Task<BatchResource> CancelBatchAsync(string id, CancellationToken cancellationToken = default) =>
        SendJsonAsync<BatchResource>(Request(HttpMethod.Post, $"v1/batches/{Segment(id)}/cancel"), null, cancellationToken);

    /// <summary><c>DELETE /v1/batches/{id}</c>: removes the batch and all its fits.</summary>
    public Task DeleteBatchAsync(string id, CancellationToken cancellationToken = default) =>
        SendNoContentAsync(Request(HttpMethod.Delete, $"v1/batches/{Segment(id)}"), cancellationToken);

    /// <summary><c>GET /v1/fits/{id}/deliveries</c>: the fit's webhook event and every attempt to deliver it.</summary>
    public Task<DeliveryList> GetFitDeliveriesAsync(string id, CancellationToken cancellationToken = default) =>
        SendJsonAsync<DeliveryList>(Request(HttpMethod.Get, $"v1/fits/{Segment(id)}/deliveries"), null, cancellationToken);

    /// <summary><c>POST /v1/fits/{id}/deliveries/retry</c>: sends the fit's webhook again now.</summary>
    public Task<DeliveryList> RedeliverFitWebhookAsync(string id, CancellationToken cancellationToken = default) =>
        SendJsonAsync<DeliveryList>(Request(HttpMethod.Post, $"v1/fits/{Segment(id)}/deliveries/retry"), null, cancellationToken);

    /// <summary><c>GET /v1/batches/{id}/deliveries</c>: the batch's <c>batch.completed</c> event and every attempt to deliver it.</summary>
    public Task<DeliveryList> GetBatchDeliveriesAsync(string id, CancellationToken cancellationToken = default) =>
        SendJsonAsync<DeliveryList>(Request(HttpMethod.Get, $"v1/batches/{Segment(id)}/deliveries"), null, cancellationToken);

    /// <summary><c>POST /v1/batches/{id}/deliveries/retry</c>: sends the batch's webhook again now.</summary>
    public Task<DeliveryList> RedeliverBatchWebhookAsync(string id, CancellationToken cancellationToken = default) =>
        SendJsonAsync<DeliveryList>(Request(HttpMethod.Post, $"v1/batches/{Segment(id)}/deliveries/retry"), null, cancellationToken);
}
