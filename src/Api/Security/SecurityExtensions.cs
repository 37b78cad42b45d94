using System.Globalization;
using System.Threading.RateLimiting;
using FitService.Api.Auth;
using FitService.Api.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FitService.Api.Security;

public static class SecurityExtensions
{
    /// <summary>API keys and tenants, the /v1 fallback policy, per-tenant rate limits, Kestrel limits, storage faults as 503/507.</summary>
    public static WebApplicationBuilder AddFitSecurity(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section);
        services.AddSingleton<ApiKeys>();
        services.Replace(ServiceDescriptor.Singleton<Webhooks.IWebhookSecrets, TenantWebhookSecrets>());
        services.AddSingleton<SubmissionGuard>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddSingleton<IAuthorizationHandler, TenantRequirement>();
        services.AddAuthorizationBuilder().SetFallbackPolicy(new AuthorizationPolicyBuilder().AddRequirements(new TenantRequirement()).Build());

        services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(PerTenant);
            options.OnRejected = RejectAsync;
        });
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>((kestrel, limits) =>
        {
            var l = limits.Value;
            kestrel.AddServerHeader = false;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(l.RequestHeadersTimeoutSeconds);
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(l.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5));
            RequestLimits.ConfigureKestrel(kestrel.Limits);
        });
        services.AddSingleton<IProblemDetailsWriter, ProblemDefaults.AlwaysJsonWriter>();
        services.Configure<ProblemDetailsOptions>(o =>
        {
            var before = o.CustomizeProblemDetails;
            o.CustomizeProblemDetails = context =>
            {
                before?.Invoke(context);
                ProblemDefaults.Apply(context);
            };
        });
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<StorageExceptionHandler>();
        services.AddExceptionHandler<RequestBodyBudget.BusyHandler>();
        services.AddSingleton<RequestBodyBudget>();
        services.AddTransient<IConfigureOptions<SwaggerGenOptions>, SwaggerSecurity>();
        return builder;
    }

    /// <summary>
    /// In order: the request line and header limits, loopback Host names only (local mode), HEAD answered as GET, then
    /// routing (explicitly here, after the HEAD rewrite), same-site POSTs only on the dashboard, authentication, the
    /// /v1 tenant policy and the per-tenant rate limiter (which partitions by tenant).
    /// </summary>
    public static void UseFitSecurity(this WebApplication app)
    {
        var keys = app.Services.GetRequiredService<ApiKeys>();
        app.UseRequestLimits();
        if (keys.IsLocalMode) app.UseLoopbackHostsOnly();
        app.UseHeadAsGet();
        app.UseRouting();
        app.UseSameSiteOnly(DashboardSecurity.Path);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SecurityExtensions).FullName!);
        if (keys.IsLocalMode) logger.LogInformation("local mode: anonymous, listening on loopback only");
        else logger.LogInformation("API keys configured: every /v1 request needs 'Authorization: Bearer <key>'");
    }

    private static RateLimitPartition<string> PerTenant(HttpContext http)
    {
        var limits = http.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
        var perSecond = limits.RequestsPerSecondFor(http.RequestServices.GetRequiredService<ApiKeys>().IsLocalMode);
        if (perSecond <= 0 || !http.Request.Path.StartsWithSegments(TenantRequirement.ApiPrefix, StringComparison.OrdinalIgnoreCase))
            return RateLimitPartition.GetNoLimiter("");
        return RateLimitPartition.GetTokenBucketLimiter(http.Tenant(), _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(limits.RequestBurst, 1),
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static async ValueTask RejectAsync(OnRejectedContext context, CancellationToken ct)
    {
        var http = context.HttpContext;
        var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var limits = http.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
        await http.WriteProblemAsync(StatusCodes.Status429TooManyRequests, "Too many requests",
            $"At most {limits.RequestsPerSecondFor(http.RequestServices.GetRequiredService<ApiKeys>().IsLocalMode)} requests per second (bursts of {limits.RequestBurst}) per tenant " +
            "(Limits:RequestsPerSecond, Limits:RequestBurst). Retry after the time in Retry-After.");
    }
}
