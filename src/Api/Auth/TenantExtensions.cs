using System.Security.Claims;

namespace FitService.Api.Auth;

public static class TenantExtensions
{
    public const string TenantClaim = "tenant";

    /// <summary>The caller's tenant; the empty string is the anonymous tenant of the local mode.</summary>
    public static string Tenant(this HttpContext http) => http.User.FindFirstValue(TenantClaim) ?? "";
}
