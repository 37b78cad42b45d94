using FitService.Contracts;

namespace FitService.Client;

public sealed partial class FitServiceClient
{
    /// <summary><c>POST /v1/lr-finder</c>: queues a learning-rate finder run; with <paramref name="wait"/>, returns it ended if it ended by then.</summary>
    public Task<LearningRateFinderResource> SubmitLearningRateFinderAsync(LearningRateFinderRequest request, string? idempotencyKey = null, TimeSpan? wait = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendJsonAsync<LearningRateFinderResource>(WithIdempotencyKey(Request(HttpMethod.Post, "v1/lr-finder", request), idempotencyKey), wait, cancellationToken);
    }

    /// <summary><c>GET /v1/lr-finder/{id}</c>: the run, its curve and suggestions once ended.</summary>
    public Task<LearningRateFinderResource> GetLearningRateFinderAsync(string id, TimeSpan? wait = null, CancellationToken cancellationToken = default) =>
        SendJsonAsync<LearningRateFinderResource>(Request(HttpMethod.Get, $"v1/lr-finder/{Segment(id)}"), wait, cancellationToken);

    /// <summary>Waits until the finder run has ended and returns it.</summary>
    public Task<LearningRateFinderResource> WaitLearningRateFinderAsync(string id, CancellationToken cancellationToken = default) =>
        WaitUntilAsync((wait, ct) => GetLearningRateFinderAsync(id, wait, ct), r => FitStatuses.IsEnded(r.Status), cancellationToken);

    /// <summary><c>GET /v1/lr-finder/{id}/plot.svg</c>: loss against rate, as an SVG stream (dispose it).</summary>
    public Task<Stream> GetLearningRateFinderPlotAsync(string id, CancellationToken cancellationToken = default) =>
        SendStreamAsync(Request(HttpMethod.Get, $"v1/lr-finder/{Segment(id)}/plot.svg", accept: "image/svg+xml"), cancellationToken);

    /// <summary><c>DELETE /v1/lr-finder/{id}</c>.</summary>
    public Task DeleteLearningRateFinderAsync(string id, CancellationToken cancellationToken = default) =>
        SendNoContentAsync(Request(HttpMethod.Delete, $"v1/lr-finder/{Segment(id)}"), cancellationToken);
}
