using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FitService.Contracts;

namespace FitService.Client;

/// <summary>
/// A typed client of the FitService v1 API. Every call is async and cancellable; an error status becomes a
/// <see cref="FitServiceProblemException"/>, a call that outlasts <see cref="FitServiceClientOptions.RequestTimeout"/>
/// (plus any wait it asked for) a <see cref="TimeoutException"/>, and a network failure stays an <see cref="HttpRequestException"/>.
/// Register it with <c>services.AddFitServiceClient(…)</c>, or construct it around an <see cref="HttpClient"/> of your own.
/// </summary>
public sealed partial class FitServiceClient
{
    /// <summary>Never poll faster than this, even if a service ignores <c>Prefer: wait</c> and answers at once.</summary>
    private static readonly TimeSpan MinPollInterval = TimeSpan.FromSeconds(1);

    private readonly HttpClient _http;
    private readonly FitServiceClientOptions _options;
    private readonly Uri _baseAddress;

    /// <summary>
    /// A client over <paramref name="httpClient"/>. The service root is <see cref="FitServiceClientOptions.BaseAddress"/>, else the
    /// client's own <see cref="HttpClient.BaseAddress"/>. Give the <see cref="HttpClient"/> an infinite <see cref="HttpClient.Timeout"/>
    /// (as <c>AddFitServiceClient</c> does): this client sets a deadline per call, and event streams live long.
    /// </summary>
    public FitServiceClient(HttpClient httpClient, FitServiceClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        _http = httpClient;
        _options = options ?? new FitServiceClientOptions();
        var baseAddress = _options.BaseAddress ?? httpClient.BaseAddress
            ?? throw new ArgumentException("Set FitServiceClientOptions.BaseAddress (or the HttpClient's BaseAddress) to the service root.", nameof(options));
        _baseAddress = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
    }

    /// <summary>The service root every path is resolved against.</summary>
    public Uri BaseAddress => _baseAddress;

    /// <summary>What <c>AddFitServiceClient</c> does to the factory's <see cref="HttpClient"/>.</summary>
    internal static void Configure(HttpClient http, FitServiceClientOptions options)
    {
        http.BaseAddress = options.BaseAddress;
        http.Timeout = Timeout.InfiniteTimeSpan;
    }

    private static string Segment(string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return Uri.EscapeDataString(id);
    }

    private static string Query(params (string Name, object? Value)[] parameters)
    {
        var parts = parameters
            .Select(p => (p.Name, Text: Convert.ToString(p.Value, CultureInfo.InvariantCulture)))
            .Where(p => !string.IsNullOrEmpty(p.Text))
            .Select(p => $"{p.Name}={Uri.EscapeDataString(p.Text!)}")
            .ToList();
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    private HttpRequestMessage Request(HttpMethod method, string path, object? body = null, string? accept = "application/json")
    {
        var request = new HttpRequestMessage(method, new Uri(_baseAddress, path));
        if (accept is not null) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        if (!string.IsNullOrEmpty(_options.ApiKey)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
        if (body is not null)
        {
            // Buffered, so the body goes with a Content-Length (the service reads a bounded body; proxies prefer it too)
            var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), FitServiceJson.Requests));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            request.Content = content;
        }
        return request;
    }

    private static HttpRequestMessage WithIdempotencyKey(HttpRequestMessage request, string? key)
    {
        if (!string.IsNullOrEmpty(key)) request.Headers.Add("Idempotency-Key", key);
        return request;
    }

    /// <summary>Sends, within the call's deadline, and throws on an error status. With <paramref name="streamed"/> only the headers are read here.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, TimeSpan? wait, CancellationToken cancellationToken, bool streamed = false)
    {
        if (wait is { } w && w > TimeSpan.Zero)
            request.Headers.Add("Prefer", "wait=" + ((int)Math.Ceiling(w.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
        var timeout = _options.RequestTimeout + (wait ?? TimeSpan.Zero);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, streamed ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, deadline.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"FitService at {_baseAddress} did not answer {request.Method} {request.RequestUri?.AbsolutePath} within {timeout.TotalSeconds:0} s.", e);
        }
        finally
        {
            request.Dispose();
        }
        if (!response.IsSuccessStatusCode)
        {
            using (response) throw await ProblemAsync(response, cancellationToken);
        }
        return response;
    }

    private async Task<T> SendJsonAsync<T>(HttpRequestMessage request, TimeSpan? wait, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(request, wait, cancellationToken);
        return await response.Content.ReadFromJsonAsync<T>(FitServiceJson.Options, cancellationToken)
            ?? throw new JsonException($"FitService answered {request.Method} {request.RequestUri?.AbsolutePath} with an empty body.");
    }

    private async Task SendNoContentAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(request, null, cancellationToken);
    }

    private async Task<string> SendTextAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(request, null, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>The body as a stream the caller owns; disposing it releases the connection.</summary>
    private async Task<Stream> SendStreamAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await SendAsync(request, null, cancellationToken, streamed: true);
        return await response.Content.ReadAsStreamAsync(cancellationToken);
    }

    /// <summary>Asks with <c>Prefer: wait</c> until <paramref name="ended"/> holds.</summary>
    private async Task<T> WaitUntilAsync<T>(Func<TimeSpan, CancellationToken, Task<T>> get, Func<T, bool> ended, CancellationToken cancellationToken)
    {
        while (true)
        {
            var asked = Stopwatch.GetTimestamp();
            var current = await get(_options.LongPollWait, cancellationToken);
            if (ended(current)) return current;
            var elapsed = Stopwatch.GetElapsedTime(asked);
            if (elapsed < MinPollInterval) await Task.Delay(MinPollInterval - elapsed, cancellationToken);
        }
    }

    internal static async Task<FitServiceProblemException> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = response.StatusCode;
        var retryAfter = response.Headers.RetryAfter is { } r
            ? r.Delta ?? (r.Date is { } date ? date - DateTimeOffset.UtcNow : null)
            : null;
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException)
        {
            body = "";
        }
        try
        {
            if (body.TrimStart().StartsWith('{'))
            {
                using var document = JsonDocument.Parse(body);
                var root = document.RootElement;
                string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                var errors = new Dictionary<string, string[]>();
                if (root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in e.EnumerateObject())
                    {
                        errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                            ? field.Value.EnumerateArray().Select(m => m.ValueKind == JsonValueKind.String ? m.GetString()! : m.GetRawText()).ToArray()
                            : [field.Value.ToString()];
                    }
                }
                var extensions = root.EnumerateObject()
                    .Where(p => p.Name is not ("type" or "title" or "status" or "detail" or "instance" or "errors"))
                    .ToDictionary(p => p.Name, p => p.Value.Clone());
                return new FitServiceProblemException(status, Text("type"), Text("title"), Text("detail"), Text("instance"), errors, extensions, retryAfter);
            }
        }
        catch (JsonException)
        {
            // not problem details after all: described from the status below
        }
        var detail = string.IsNullOrWhiteSpace(body) ? null : body.Length > 300 ? body[..300] + "…" : body.Trim();
        return new FitServiceProblemException(status, null, response.ReasonPhrase ?? status.ToString(), detail, null, retryAfter: retryAfter);
    }

}
