using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace FitService.Cli.Client;

/// <summary>A typed client for the FitService v1 HTTP API. Errors surface as <see cref="FitServiceException"/>
/// (the service said no) or <see cref="FitServiceUnavailableException"/> (it could not be reached).</summary>
internal sealed class FitServiceClient : IDisposable
{
    public static readonly Uri DefaultServer = new("http://localhost:5080/");

    /// <summary>Ordinary requests get this long beyond any <c>Prefer: wait</c> they ask for.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>Uses <paramref name="http"/> as given (its <see cref="HttpClient.BaseAddress"/> must be the service root);
    /// this is the seam tests use to point the client at a live service or a test host.</summary>
    public FitServiceClient(HttpClient http, string? apiKey = null) : this(http, apiKey, ownsHttp: false) { }

    private FitServiceClient(HttpClient http, string? apiKey, bool ownsHttp)
    {
        ArgumentNullException.ThrowIfNull(http.BaseAddress, "http.BaseAddress");
        _http = http;
        _ownsHttp = ownsHttp;
        _http.BaseAddress = WithTrailingSlash(http.BaseAddress);
        _http.Timeout = Timeout.InfiniteTimeSpan; // the event stream is long-lived; requests get their own deadline
        if (!string.IsNullOrEmpty(apiKey))
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("fitctl", typeof(FitServiceClient).Assembly.GetName().Version?.ToString(3)));
    }

    /// <summary>A client of its own for <paramref name="server"/>; <paramref name="handler"/> (not disposed here) lets tests route requests to a test host.</summary>
    public static FitServiceClient Create(Uri server, string? apiKey, HttpMessageHandler? handler = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        http.BaseAddress = server;
        return new FitServiceClient(http, apiKey, ownsHttp: true);
    }

    public Uri Server => _http.BaseAddress!;

    public Task<Fit> SubmitFitAsync(FitRequest request, string? idempotencyKey = null, int? waitSeconds = null, CancellationToken cancellationToken = default)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, "v1/fits") { Content = Json(request) };
        if (!string.IsNullOrEmpty(idempotencyKey))
            message.Headers.Add("Idempotency-Key", idempotencyKey);
        return SendAsync<Fit>(message, waitSeconds, cancellationToken);
    }

    public Task<Fit> GetFitAsync(string id, int? waitSeconds = null, CancellationToken cancellationToken = default) =>
        SendAsync<Fit>(new HttpRequestMessage(HttpMethod.Get, FitPath(id)), waitSeconds, cancellationToken);

    public Task<FitPage> ListFitsAsync(string? status = null, string? label = null, int? limit = null, string? cursor = null, CancellationToken cancellationToken = default) =>
        SendAsync<FitPage>(new HttpRequestMessage(HttpMethod.Get, "v1/fits" + Query(("status", status), ("label", label), ("limit", limit?.ToString()), ("cursor", cursor))), null, cancellationToken);

    public Task<Fit> CancelFitAsync(string id, CancellationToken cancellationToken = default) =>
        SendAsync<Fit>(new HttpRequestMessage(HttpMethod.Post, FitPath(id) + "/cancel"), null, cancellationToken);

    public async Task DeleteFitAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Delete, FitPath(id)), null, cancellationToken);
    }

    /// <summary><c>POST /v1/fits/{id}/predict</c>: the fitted model at <paramref name="x"/>.</summary>
    public Task<Prediction> PredictAsync(string id, double[] x, CancellationToken cancellationToken = default) =>
        SendAsync<Prediction>(new HttpRequestMessage(HttpMethod.Post, FitPath(id) + "/predict") { Content = Json(new PredictionRequest(x)) }, null, cancellationToken);

    public Task<HistoryPage> GetHistoryAsync(string id, long? offset = null, long? limit = null, CancellationToken cancellationToken = default) =>
        SendAsync<HistoryPage>(new HttpRequestMessage(HttpMethod.Get, HistoryPath(id, offset, limit)), null, cancellationToken);

    /// <summary>The history as <c>step,loss</c> CSV with a header, exactly as the service writes it.</summary>
    public Task<string> GetHistoryCsvAsync(string id, long? offset = null, long? limit = null, CancellationToken cancellationToken = default) =>
        SendTextAsync(new HttpRequestMessage(HttpMethod.Get, HistoryPath(id, offset, limit)), "text/csv", cancellationToken);

    /// <summary>Follows <c>GET /v1/fits/{id}/events</c>: progress updates, then the ended fit.
    /// Throws <see cref="EventsUnavailableException"/> when the service has no event stream, so callers can poll instead.</summary>
    public async IAsyncEnumerable<FitUpdate> WatchFitAsync(string id, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var message = new HttpRequestMessage(HttpMethod.Get, FitPath(id) + "/events");
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        using (response)
        {
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotAcceptable or HttpStatusCode.NotImplemented
                || (response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType != "text/event-stream"))
                throw new EventsUnavailableException();
            await ThrowIfErrorAsync(response, cancellationToken);
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var reader = new StreamReader(stream);
            await foreach (var e in ServerSentEvents.ReadAsync(reader, cancellationToken))
            {
                if (e.Event == "progress" && JsonSerializer.Deserialize<FitProgress>(e.Data, FitJson.Options) is { } progress)
                    yield return new FitUpdate(progress, null);
                else if (e.Event == "end" && JsonSerializer.Deserialize<Fit>(e.Data, FitJson.Options) is { } fit)
                {
                    yield return new FitUpdate(null, fit);
                    yield break;
                }
            }
        }
    }

    public Task<Batch> SubmitBatchAsync(BatchRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Batch>(new HttpRequestMessage(HttpMethod.Post, "v1/batches") { Content = Json(request) }, null, cancellationToken);

    public Task<Batch> GetBatchAsync(string id, int? waitSeconds = null, CancellationToken cancellationToken = default) =>
        SendAsync<Batch>(new HttpRequestMessage(HttpMethod.Get, $"v1/batches/{Uri.EscapeDataString(id)}"), waitSeconds, cancellationToken);

    /// <summary>The batch's results as the service writes them: <c>application/x-ndjson</c> (one JSON object a line) or <c>text/csv</c>.</summary>
    public Task<string> GetBatchResultsTextAsync(string id, string mediaType, CancellationToken cancellationToken = default) =>
        SendTextAsync(new HttpRequestMessage(HttpMethod.Get, $"v1/batches/{Uri.EscapeDataString(id)}/results"), mediaType, cancellationToken);

    public async Task<IReadOnlyList<BatchResult>> GetBatchResultsAsync(string id, CancellationToken cancellationToken = default)
    {
        var text = await GetBatchResultsTextAsync(id, "application/x-ndjson", cancellationToken);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => JsonSerializer.Deserialize<BatchResult>(line, FitJson.Options)!)
            .ToList();
    }

    public void Dispose()
    {
        if (_ownsHttp)
            _http.Dispose();
    }

    /// <summary>A buffered body, so it goes with a Content-Length rather than chunked (friendlier to proxies and simple servers).</summary>
    private static ByteArrayContent Json<T>(T body)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, FitJson.Requests));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private static string FitPath(string id) => $"v1/fits/{Uri.EscapeDataString(id)}";

    private static string HistoryPath(string id, long? offset, long? limit) =>
        FitPath(id) + "/history" + Query(("offset", offset?.ToString()), ("limit", limit?.ToString()));

    internal static string Query(params (string Name, string? Value)[] parameters)
    {
        var parts = parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    private async Task<T> SendAsync<T>(HttpRequestMessage message, int? waitSeconds, CancellationToken cancellationToken)
    {
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await SendRawAsync(message, waitSeconds, cancellationToken);
        return await response.Content.ReadFromJsonAsync<T>(FitJson.Options, cancellationToken)
            ?? throw new FitServiceException(response.StatusCode, new ProblemDetails { Title = "Empty response", Status = (int)response.StatusCode });
    }

    private async Task<string> SendTextAsync(HttpRequestMessage message, string mediaType, CancellationToken cancellationToken)
    {
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        using var response = await SendRawAsync(message, null, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage message, int? waitSeconds, CancellationToken cancellationToken)
    {
        if (waitSeconds is > 0)
            message.Headers.Add("Prefer", $"wait={waitSeconds}");
        var timeout = RequestTimeout + TimeSpan.FromSeconds(waitSeconds ?? 0);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, deadline.Token);
            await response.Content.LoadIntoBufferAsync(deadline.Token);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FitServiceUnavailableException(Server, $"FitService at {Server} did not answer within {timeout.TotalSeconds:0} s.", e);
        }
        finally
        {
            message.Dispose();
        }
        await ThrowIfErrorAsync(response, cancellationToken);
        return response;
    }

    private FitServiceUnavailableException Unreachable(HttpRequestException e) =>
        new(Server, $"Cannot reach FitService at {Server}: {(e.InnerException ?? e).Message}", e);

    private static async Task ThrowIfErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
            return;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var problem = ParseProblem(body) ?? new ProblemDetails
        {
            Title = response.ReasonPhrase ?? response.StatusCode.ToString(),
            Detail = string.IsNullOrWhiteSpace(body) ? null : body.Length > 300 ? body[..300] + "…" : body.Trim(),
        };
        response.Dispose();
        throw new FitServiceException(response.StatusCode, problem with { Status = problem.Status ?? (int)response.StatusCode });
    }

    private static ProblemDetails? ParseProblem(string body)
    {
        if (!body.TrimStart().StartsWith('{'))
            return null;
        try
        {
            var problem = JsonSerializer.Deserialize<ProblemDetails>(body, FitJson.Options);
            return problem is { Title: null, Detail: null, Errors: null } ? null : problem;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Uri WithTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}

/// <summary>One item of the event stream: progress while running, or the fit once it ended.</summary>
internal sealed record FitUpdate(FitProgress? Progress, Fit? Ended);

/// <summary>The service has no event stream for fits (older version, or a proxy that strips it).</summary>
internal sealed class EventsUnavailableException() : Exception("The service offers no event stream.");
