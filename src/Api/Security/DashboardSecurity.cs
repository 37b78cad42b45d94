using FitService.Api.Auth;
using Hangfire;
using Hangfire.Dashboard;

namespace FitService.Api.Security;

/// <summary>
/// The Hangfire dashboard: in the local mode open to loopback callers only; with keys configured it needs an admin key
/// (<c>Authorization: Bearer &lt;admin key&gt;</c>, <c>Auth:AdminKeys</c>), and without admin keys it is not served at all.
/// </summary>
public static class DashboardSecurity
{
    public const string Path = "/hangfire";

    public static void MapFitDashboard(this WebApplication app)
    {
        var keys = app.Services.GetRequiredService<ApiKeys>();
        if (!keys.IsLocalMode && !keys.HasAdminKeys) return;
        IDashboardAuthorizationFilter filter = keys.IsLocalMode ? new LocalRequestsOnlyAuthorizationFilter() : new AdminKeyFilter();
        app.Use(FormlessCommandsAsync);
        app.MapHangfireDashboard(Path, new DashboardOptions { Authorization = [filter], DisplayStorageConnectionString = false });
    }

    /// <summary>
    /// The dashboard's commands (<c>/stats</c>, <c>/jobs/…/delete</c>, …) read a form, and Hangfire throws when there is
    /// none (a GET, or a POST of JSON): that is the client's mistake, answered as 405 (Allow: POST) or 415, never a 500.
    /// </summary>
    private static async Task FormlessCommandsAsync(HttpContext http, RequestDelegate next)
    {
        if (!http.Request.Path.StartsWithSegments(Path))
        {
            await next(http);
            return;
        }
        try
        {
            await next(http);
        }
        catch (InvalidOperationException) when (!http.Response.HasStarted && !http.Request.HasFormContentType)
        {
            http.Response.Clear();
            var post = HttpMethods.IsPost(http.Request.Method);
            if (!post) http.Response.Headers.Allow = "POST";
            await TypedResults.Problem(
                statusCode: post ? StatusCodes.Status415UnsupportedMediaType : StatusCodes.Status405MethodNotAllowed,
                title: post ? "A form is required" : "Method not allowed",
                detail: post
                    ? "This dashboard command takes an application/x-www-form-urlencoded form."
                    : "This dashboard address is a command: send it as a POST form from the dashboard.").ExecuteAsync(http);
        }
    }

    private sealed class AdminKeyFilter : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context)
        {
            var http = context.GetHttpContext();
            if (http.User.IsInRole(ApiKeyAuthenticationHandler.AdminRole)) return true;
            if (http.User.Identity?.IsAuthenticated != true) http.Response.Headers.WWWAuthenticate = "Bearer";
            return false;
        }
    }
}
