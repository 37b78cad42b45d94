using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace FitService.Api.Security;

/// <summary>
/// The request line and header limits, answered as problem details: the pipeline enforces them (414, 431), and
/// Kestrel's own limits sit at four times as much as a backstop, since a request Kestrel refuses never reaches the
/// pipeline and gets Kestrel's bare answer (no body). Malformed requests (no Host, a NUL in the path, two
/// Content-Lengths) are Kestrel's alone: bare 400.
/// </summary>
public static class RequestLimits
{
    public const int MaxRequestTargetBytes = 8 * 1024;
    public const int MaxHeadersTotalBytes = 32 * 1024;
    public const int MaxHeaderCount = 64;
    private const int BackstopFactor = 4;

    public static void ConfigureKestrel(KestrelServerLimits limits)
    {
        limits.MaxRequestLineSize = BackstopFactor * MaxRequestTargetBytes;
        limits.MaxRequestHeadersTotalSize = BackstopFactor * MaxHeadersTotalBytes;
        limits.MaxRequestHeaderCount = BackstopFactor * MaxHeaderCount;
    }

    public static IApplicationBuilder UseRequestLimits(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        var target = http.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : http.Request.Path + http.Request.QueryString;
        if (target.Length > MaxRequestTargetBytes)
        {
            await RefuseAsync(http, StatusCodes.Status414UriTooLong, "URI too long",
                $"The request target has {target.Length} characters; at most {MaxRequestTargetBytes} are accepted.");
            return;
        }
        var headers = http.Request.Headers;
        long size = 0;
        foreach (var (name, values) in headers)
        {
            size += name.Length + 4; // ": " and CRLF
            foreach (var value in values) size += value?.Length ?? 0;
        }
        if (headers.Count > MaxHeaderCount || size > MaxHeadersTotalBytes)
        {
            await RefuseAsync(http, StatusCodes.Status431RequestHeaderFieldsTooLarge, "Request headers too large",
                $"The request has {headers.Count} headers of {size} bytes in total; at most {MaxHeaderCount} headers and {MaxHeadersTotalBytes} bytes are accepted.");
            return;
        }
        await next(http);
    });

    private static Task RefuseAsync(HttpContext http, int status, string title, string detail)
    {
        http.Response.Headers.Connection = "close";
        return http.WriteProblemAsync(status, title, detail);
    }
}
