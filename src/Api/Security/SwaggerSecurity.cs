using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FitService.Api.Security;

/// <summary>Swagger UI's "Authorize" button: a Bearer scheme on every /v1 operation (optional in local mode: see ContractDocument).</summary>
public sealed class SwaggerSecurity : IConfigureOptions<SwaggerGenOptions>
{
    public const string SchemeName = "Bearer";

    public void Configure(SwaggerGenOptions options)
    {
        options.AddSecurityDefinition(SchemeName, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key: `Authorization: Bearer fs_…`. Needed only when keys are configured; in the local mode (no keys) requests are anonymous.",
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
        }
    }
}
