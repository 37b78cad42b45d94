using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FitService.Api.Security;

/// <summary>Swagger UI's "Authorize" button: a Bearer scheme, required by every /v1 operation, which also documents 401 and 429.</summary>
public sealed class SwaggerSecurity : IConfigureOptions<SwaggerGenOptions>
{
    public const string SchemeName = "Bearer";

    public void Configure(SwaggerGenOptions options)
    {
        options.AddSecurityDefinition(SchemeName, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key: `Authorization: Bearer fs_…`. Not needed in the local mode (no keys configured).",
        });
        options.OperationFilter<RequireKey>();
    }

    private sealed class RequireKey : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (context.ApiDescription.RelativePath?.StartsWith("v1/", StringComparison.OrdinalIgnoreCase) != true) return;
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, context.Document)] = [] });
            operation.Responses ??= [];
            operation.Responses.TryAdd("401", new OpenApiResponse { Description = "Missing or invalid API key (`WWW-Authenticate: Bearer`)." });
            operation.Responses.TryAdd("429", new OpenApiResponse { Description = "Rate limit or active-fit quota reached; see `Retry-After`." });
        }
    }
}
