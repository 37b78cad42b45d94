namespace FitService.Api.Security;

/// <summary>
/// <c>HEAD</c> on any GET route answers as GET would, without the body (RFC 9110 §9.3.2): the request is routed and
/// handled as a GET whose body goes nowhere, then named HEAD again for the log. Minimal APIs map GET only, and
/// mapping HEAD beside every GET would double each operation in the OpenAPI document.
/// </summary>
public static class HeadRequests
{
    private static readonly object Marker = new();

    /// <summary>True while a HEAD request is being answered as a GET (a stream that would run on, such as SSE, ends after its headers).</summary>
    public static bool IsHead(HttpContext http) => http.Items.ContainsKey(Marker);

    /// <summary>Must run before routing.</summary>
    public static IApplicationBuilder UseHeadAsGet(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (!HttpMethods.IsHead(http.Request.Method))
        {
            await next(http);
            return;
        }
        var body = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()!;
        http.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>(new HeadBody(body));
        http.Items[Marker] = true;
        http.Request.Method = HttpMethods.Get;
        try
        {
            await next(http);
        }
        finally
        {
            // The body stays dropped: the status-code pages and the exception handler, outside this, write after it.
            http.Request.Method = HttpMethods.Head;
        }
    });

    /// <summary>Headers go out as for GET (Content-Length included); the body is dropped.</summary>
    private sealed class HeadBody(Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature inner)
        : Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature
    {
        public Stream Stream => Stream.Null;
        public System.IO.Pipelines.PipeWriter Writer { get; } = System.IO.Pipelines.PipeWriter.Create(Stream.Null);
        public void DisableBuffering() { }
        public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);
        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task CompleteAsync() => inner.CompleteAsync();
    }
}
