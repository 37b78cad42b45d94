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
        app.MapHangfireDashboard(Path, new DashboardOptions { Authorization = [filter], DisplayStorageConnectionString = false });
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
