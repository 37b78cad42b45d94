using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace FitService.Api.Auth;

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c>: a configured key becomes a principal with its tenant (claim <c>tenant</c>),
/// an admin key gets the <c>admin</c> role. In the local mode (no keys configured) everyone is the anonymous tenant "".
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeys keys, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string AdminRole = "admin";
    private const string BearerPrefix = "Bearer ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (keys.IsLocalMode) return Task.FromResult(Success(new KeyMatch("", false)));

        var header = Request.Headers.Authorization;
        if (header.Count == 0) return Task.FromResult(AuthenticateResult.NoResult());
        if (header.Count > 1 || header[0] is not { } value || !value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
            return Task.FromResult(AuthenticateResult.Fail("The Authorization header must be 'Bearer <api key>'."));

        var match = keys.Find(value[BearerPrefix.Length..].Trim());
        return Task.FromResult(match.Found ? Success(match) : AuthenticateResult.Fail("The API key is not valid."));
    }

    private static AuthenticateResult Success(KeyMatch match)
    {
        var claims = new List<Claim>();
        if (match.Tenant is not null) claims.Add(new Claim(TenantExtensions.TenantClaim, match.Tenant));
        if (match.IsAdmin) claims.Add(new Claim(ClaimTypes.Role, AdminRole));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var presented = Request.Headers.Authorization.Count > 0;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = presented ? "Bearer error=\"invalid_token\"" : "Bearer";
        await WriteProblemAsync(StatusCodes.Status401Unauthorized, "Authentication required", presented
            ? "The API key is not valid. Send 'Authorization: Bearer <api key>' with a key configured for your tenant."
            : "Send 'Authorization: Bearer <api key>'.");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await WriteProblemAsync(StatusCodes.Status403Forbidden, "Forbidden", "This key does not give access to this resource (admin keys have no tenant).");
    }

    private ValueTask WriteProblemAsync(int status, string title, string detail) => problems.WriteAsync(new ProblemDetailsContext
    {
        HttpContext = Context,
        ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
    });
}
