using FitService.Api.Fits;

namespace FitService.Api.Http;

/// <summary><c>Cors:*</c>: which browser origins may call the API. Empty (the default) means no CORS headers at all.</summary>
public sealed class CrossOriginOptions
{
    public const string Section = "Cors";

    /// <summary>Origins such as <c>https://app.example.org</c>; <c>*</c> allows any origin (the API uses bearer keys, never cookies).</summary>
    public string[] AllowedOrigins { get; set; } = [];
}

/// <summary>CORS for browser callers, off unless <c>Cors:AllowedOrigins</c> names origins.</summary>
public static class CrossOrigin
{
    /// <summary>Headers a browser script may read from our answers: those a client library relies on.</summary>
    public static readonly string[] ExposedHeaders =
        ["Location", "Retry-After", "ETag", "Preference-Applied", IdempotencyKey.ReplayedHeader, "WWW-Authenticate"];

    public static WebApplicationBuilder AddFitCors(this WebApplicationBuilder builder)
    {
        var origins = builder.Configuration.GetSection(CrossOriginOptions.Section).Get<CrossOriginOptions>()?.AllowedOrigins ?? [];
        builder.Services.AddOptions<CrossOriginOptions>().BindConfiguration(CrossOriginOptions.Section);
        if (origins.Length == 0) return builder;
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy =>
        {
            if (origins.Contains("*")) policy.AllowAnyOrigin();
            else policy.WithOrigins(origins);
            policy.AllowAnyHeader().AllowAnyMethod().WithExposedHeaders(ExposedHeaders).SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        }));
        return builder;
    }

    /// <summary>Before authentication and rate limits: a preflight carries no key and must not be refused for it.</summary>
    public static void UseFitCors(this WebApplication app)
    {
        if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<CrossOriginOptions>>().Value.AllowedOrigins.Length > 0) app.UseCors();
    }
}
