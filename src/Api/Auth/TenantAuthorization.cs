using Microsoft.AspNetCore.Authorization;

namespace FitService.Api.Auth;

/// <summary>
/// The fallback authorization policy: any request under <c>/v1</c> (matched to an endpoint or not) needs a tenant —
/// a valid key, or the anonymous tenant of the local mode. Being the fallback, it covers every <c>/v1</c> endpoint
/// added later without anyone remembering it; other paths (health, Swagger, static files) decide for themselves,
/// and the dashboard has its own filter.
/// </summary>
public sealed class TenantRequirement : AuthorizationHandler<TenantRequirement>, IAuthorizationRequirement
{
    public const string ApiPrefix = "/v1";

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, TenantRequirement requirement)
    {
        var http = context.Resource as HttpContext;
        var underApi = http?.Request.Path.StartsWithSegments(ApiPrefix, StringComparison.OrdinalIgnoreCase) ?? true;
        if (!underApi || context.User.HasClaim(c => c.Type == TenantExtensions.TenantClaim)) context.Succeed(requirement);
        return Task.CompletedTask;
    }
}
