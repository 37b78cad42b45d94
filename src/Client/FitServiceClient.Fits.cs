using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using FitService.Contracts;

namespace FitService.Client;

public sealed partial class FitServiceClient
{
    /// <summary>
    /// <c>POST /v1/fits</c>: queues a fit and returns it (queued). With <paramref name="wait"/> the service holds the answer up to that
    /// long (<c>Prefer: wait</c>, at most 60 s) and returns the ended fit if it ended by then. <paramref name="idempotencyKey"/> makes a
    /// retried submit return the same fit.
    /// </summary>
    public Task<FitResource> SubmitFitAsync(FitRequest request, string? idempotencyKey = null, TimeSpan? wait = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendJsonAsync<FitResource>(WithIdempotencyKey(Request(HttpMethod.Post, "v1/fits", request), idempotencyKey), wait, cancellationToken);
    }

    /// <summary><c>GET /v1/fits/{id}</c>; with <paramref name="wait"/>, answered as soon as the fit has ended or after that long.</summary>
    public Task<FitResource> GetFitAsync(string id, TimeSpan? wait = null, CancellationToken cancellationToken = default) =>
        SendJsonAsync<FitResource>(Request(HttpMethod.Get, $"v1/fits/{Segment(id)}"), wait, cancellationToken);

    /// <summary>Waits until the fit has ended (succeeded, failed or cancelled) and returns it, asking with <c>Prefer: wait</c> again and again.</summary>
    public Task<FitResource> WaitAsync(string id, CancellationToken cancellationToken = default) =>
        WaitUntilAsync((wait, ct) => GetFitAsync(id, wait, ct), f => FitStatuses.IsEnded(f.Status), cancellationToken);

    /// <summary><c>GET /v1/fits</c>: one page, newest first, without history; pass the page's <see cref="FitList.Next"/> as <paramref name="cursor"/> for the next.</summary>
    public Task<FitList> ListFitsAsync(string? status = null, string? label = null, int? limit = null, string? cursor = null, CancellationToken cancellationToken = default) =>
        SendJsonAsync<FitList>(Request(HttpMethod.Get, "v1/fits" + Query(("status", status), ("label", label), ("limit", limit), ("cursor", cursor))), null, cancellationToken);

    /// <summary>Every matching fit, newest first, following the cursors page by page.</summary>
    public async IAsyncEnumerable<FitResource> ListAllFitsAsync(string? status = null, string? label = null, int? pageSize = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? cursor = null;
        do
        {
            var page = await ListFitsAsync(status, label, pageSize, cursor, cancellationToken);
            foreach (var fit in page.Items) yield return fit;
            cursor = page.Next;
        }
        while (cursor is not null);
    }

    /// <summary><c>GET /v1/fits/{id}/history</c>: one page of the loss history (<paramref name="offset"/> counts entries, not steps).</summary>
    public Task<HistoryPage> GetHistoryPageAsync(string id, int? offset = null, int? limit = null, CancellationToken cancellationToken = default) =>
        SendJsonAsync<HistoryPage>(Request(HttpMethod.Get, HistoryPath(id, offset, limit)), null, cancellationToken);

    /// <summary>The history page as <c>step,loss</c> CSV with a header, exactly as the service writes it.</summary>
    public Task<string> GetHistoryCsvAsync(string id, int? offset = null, int? limit = null, CancellationToken cancellationToken = default) =>
        SendTextAsync(Request(HttpMethod.Get, HistoryPath(id, offset, limit), accept: "text/csv"), cancellationToken);

    /// <summary>
    /// The whole loss history from <paramref name="offset"/> on, fetched page by page (<paramref name="pageSize"/> entries a request,
    /// the service's default when null) as it is enumerated. For a running fit it ends at the history recorded so far.
    /// </summary>
    public async IAsyncEnumerable<HistoryEntry> GetHistoryAsync(string id, int offset = 0, int? pageSize = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var page = await GetHistoryPageAsync(id, offset, pageSize, cancellationToken);
            foreach (var entry in page.Items) yield return entry;
            offset = page.Offset + page.Items.Count;
            if (page.Items.Count == 0 || offset >= page.Total) yield break;
        }
    }

    /// <summary><c>POST /v1/fits/{id}/cancel</c>: stops a queued or running fit (a 409 problem if it had ended).</summary>
    public Task<FitResource> CancelFitAsync(string id, CancellationToken cancellationToken = default) =>
        SendJsonAsync<FitResource>(Request(HttpMethod.Post, $"v1/fits/{Segment(id)}/cancel"), null, cancellationToken);

    /// <summary><c>DELETE /v1/fits/{id}</c>: removes the fit (cancelling it first if needed).</summary>
    public Task DeleteFitAsync(string id, CancellationToken cancellationToken = default) =>
        SendNoContentAsync(Request(HttpMethod.Delete, $"v1/fits/{Segment(id)}"), cancellationToken);

    /// <summary><c>POST /v1/fits/{id}/predict</c>: the fitted model's values at <paramref name="x"/> (numbers, or rows of a network's features), in the same order; with loss bce also the probabilities.</summary>
    public Task<PredictResult> PredictAsync(string id, XValues x, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        return SendJsonAsync<PredictResult>(Request(HttpMethod.Post, $"v1/fits/{Segment(id)}/predict", new PredictRequest { X = x }), null, cancellationToken);
    }

    /// <summary><c>GET /v1/fits/{id}/plot.svg</c>: the points with the fitted and initial curves, as an SVG stream (dispose it).</summary>
    public Task<Stream> GetFitPlotAsync(string id, CancellationToken cancellationToken = default) =>
        SendStreamAsync(Request(HttpMethod.Get, $"v1/fits/{Segment(id)}/plot.svg", accept: "image/svg+xml"), cancellationToken);

    /// <summary><c>GET /v1/fits/{id}/loss.svg</c>: the loss history as an SVG stream (dispose it); <paramref name="logScale"/> for a log10 axis.</summary>
    public Task<Stream> GetLossPlotAsync(string id, bool logScale = false, CancellationToken cancellationToken = default) =>
        SendStreamAsync(Request(HttpMethod.Get, $"v1/fits/{Segment(id)}/loss.svg" + (logScale ? "?scale=log" : ""), accept: "image/svg+xml"), cancellationToken);

    /// <summary><c>POST /v1/evaluate</c>: the loss of a polynomial at given params, computed as a fit would, nothing stored.</summary>
    public Task<EvaluateResult> EvaluateAsync(EvaluateRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendJsonAsync<EvaluateResult>(Request(HttpMethod.Post, "v1/evaluate", request), null, cancellationToken);
    }

    /// <summary>
    /// Follows <c>GET /v1/fits/{id}/events</c> live: a <see cref="FitProgressed"/> per update while the fit runs, then one
    /// <see cref="FitEnded"/>, after which the enumeration ends. A stream that breaks (or falls silent beyond
    /// <see cref="FitServiceClientOptions.EventStreamIdleTimeout"/>) is resumed with <c>Last-Event-ID</c>, so no progress is repeated;
    /// <paramref name="lastEventId"/> resumes a stream followed before. Throws <see cref="NotSupportedException"/> when the answer is not an
    /// event stream (a proxy in the way), <see cref="IOException"/> when it broke more than <see cref="FitServiceClientOptions.EventStreamReconnects"/> times in a row.
    /// </summary>
    public async IAsyncEnumerable<FitEvent> WatchAsync(string id, string? lastEventId = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var path = $"v1/fits/{Segment(id)}/events";
        var retryDelay = TimeSpan.FromSeconds(1);
        var failures = 0;
        var connected = false;
        while (true)
        {
            var request = Request(HttpMethod.Get, path, accept: "text/event-stream");
            if (lastEventId is not null) request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
            HttpResponseMessage response;
            try
            {
                response = await SendAsync(request, null, cancellationToken, streamed: true);
            }
            catch (Exception e) when (connected && e is HttpRequestException or TimeoutException or FitServiceProblemException { Status: >= 500 }
                && ++failures <= _options.EventStreamReconnects)
            {
                // the service is restarting or briefly unreachable: resume as after a broken stream
                await Task.Delay(retryDelay, cancellationToken);
                continue;
            }
            connected = true;

            using (response)
            {
                if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
                    throw new NotSupportedException($"GET {path} answered {response.Content.Headers.ContentType?.MediaType ?? "no content type"}, not an event stream.");
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                idle.CancelAfter(_options.EventStreamIdleTimeout);
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                using var reader = new StreamReader(stream);
                await using var events = ServerSentEvents.ReadAsync(reader, () => idle.CancelAfter(_options.EventStreamIdleTimeout), idle.Token).GetAsyncEnumerator(idle.Token);
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await events.MoveNextAsync();
                    }
                    catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is IOException or HttpRequestException or OperationCanceledException)
                    {
                        more = false; // broken or silent: resumed below
                    }
                    if (!more) break;

                    var message = events.Current;
                    if (message.Retry is { } retry) retryDelay = retry;
                    if (message.Id is not null) lastEventId = message.Id;
                    failures = 0;
                    if (message.Event == "progress" && JsonSerializer.Deserialize<FitProgressEvent>(message.Data, FitServiceJson.Options) is { } progress)
                        yield return new FitProgressed(message.Id, progress);
                    else if (message.Event == "end" && JsonSerializer.Deserialize<FitResource>(message.Data, FitServiceJson.Options) is { } fit)
                    {
                        yield return new FitEnded(message.Id, fit);
                        yield break;
                    }
                }
            }
            // The stream closed before the end event (a restart, a proxy's time-out): resume after the last event seen.
            if (++failures > _options.EventStreamReconnects)
                throw new IOException($"The event stream of fit {id} broke {failures} times in a row before the fit ended.");
            await Task.Delay(retryDelay, cancellationToken);
        }
    }

    private static string HistoryPath(string id, int? offset, int? limit) =>
        $"v1/fits/{Segment(id)}/history" + Query(("offset", offset), ("limit", limit));
}
