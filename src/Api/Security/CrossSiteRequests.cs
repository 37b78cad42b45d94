using Microsoft.AspNetCore.Mvc;

namespace FitService.Api.Security;

/// <summary>
/// Refuses cross-site requests that change state (any method but GET, HEAD, OPTIONS), from the browser's own Fetch
/// Metadata: <c>Sec-Fetch-Site</c> when sent (every current browser), else <c>Origin</c> against the request's own
/// scheme and host. A request with neither is not from a browser page, so it is no forgery. Used on the Hangfire
/// dashboard, whose buttons are form POSTs a hostile page could replay with the caller's loopback or admin access.
/// </summary>
public static class CrossSiteRequests
{
    public static bool IsCrossSite(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)) return false;
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0) return site is not ("same-origin" or "none");
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0) return false;
        return !Uri.TryCreate(origin, UriKind.Absolute, out var uri)
               || !string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
               || !string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>403 problem details for cross-site state changes under <paramref name="path"/>.</summary>
    public static IApplicationBuilder UseSameSiteOnly(this IApplicationBuilder app, PathString path) => app.Use(async (http, next) =>
    {
        if (!http.Request.Path.StartsWithSegments(path) || !IsCrossSite(http.Request))
        {
            await next(http);
            return;
        }
        await http.WriteProblemAsync(StatusCodes.Status403Forbidden, "Cross-site request refused",
            $"{http.Request.Method} requests to {path} must come from the dashboard's own pages (Sec-Fetch-Site or Origin said otherwise).");
    });
}
