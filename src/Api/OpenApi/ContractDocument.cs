using FitService.Api.Auth;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FitService.Api.OpenApi;

/// <summary>
/// The document as a whole: servers, tag descriptions, the problem-details schemas, and security that asks for a key
/// only when keys are configured (local mode: a key is optional, and ignored).
/// </summary>
public sealed class ContractDocument(ApiKeys keys) : IDocumentFilter
{
    private static readonly (string Name, string Description)[] Tags =
    [
        ("Fits", "Submit a fit, follow it, read its history, cancel or delete it."),
        ("Batches", "Many fits in one request, all or nothing, with one result per fit."),
        ("Learning-rate finder", "fastai's lr_find as a background run: a curve and two suggested rates."),
        ("Plots", "SVG pictures of a fit and of its loss history."),
        ("Evaluate", "The loss of a polynomial at given params, computed as a fit computes it."),
        ("Webhooks", "Delivery attempts of a fit's or a batch's webhook, and redelivery."),
    ];

    /// <summary>
    /// A batch's items and defaults are fit requests whose required fields may come from either side, so they get a
    /// schema of their own without <c>required</c> (a generated client would refuse defaults without points).
    /// </summary>
    private static void BatchItems(IDictionary<string, IOpenApiSchema> schemas)
    {
        if (!schemas.TryGetValue("FitRequest", out var fit) || fit is not OpenApiSchema fitRequest ||
            !schemas.TryGetValue("BatchRequest", out var found) || found is not OpenApiSchema batch || batch.Properties is null) return;
        if (fitRequest.CreateShallowCopy() is not OpenApiSchema item) return;
        item.Required = new SortedSet<string>(StringComparer.Ordinal);
        item.Properties = fitRequest.Properties?.ToDictionary(p => p.Key, p => ContractSchemas.Optional(p.Value));
        item.Description = "The fields of a fit request, for a batch's `defaults` and each of its `fits`: what a fit requires " +
            "(`x`, `y`, `loss`, …) must be in the item or in the defaults.";
        schemas[BatchFitRequest] = item;
        if (batch.Properties.ContainsKey("defaults")) batch.Properties["defaults"] = new OpenApiSchemaReference(BatchFitRequest);
        if (batch.Properties.TryGetValue("fits", out var fits) && fits is OpenApiSchema array)
            array.Items = new OpenApiSchemaReference(BatchFitRequest);
    }

    private const string BatchFitRequest = "BatchFitRequest";

    /// <summary>
    /// A property that may be null and holds a component is a plain <c>$ref</c> to that component, and the component is nullable.
    /// Under OpenAPI 3.0.3 <c>nullable</c> adds null only to the <c>type</c> of its own schema object, so the usual wrapper
    /// <c>{type: object, nullable: true, oneOf: [$ref]}</c> still sends null through the component, which refused it: strict
    /// validators (openapi-schema-validator, Redocly) rejected every null optimum. A wrapper that keeps <c>type</c> makes NSwag
    /// invent a class per property, one without <c>type</c> is invalid, so the component says it: where it is present it is
    /// checked in full, and NSwag, Kiota and openapi-typescript read the property as the component's type or null.
    /// </summary>
    private static void NullableReferences(IDictionary<string, IOpenApiSchema> schemas)
    {
        var nullable = new HashSet<string>(StringComparer.Ordinal);
        foreach (var schema in schemas.Values.OfType<OpenApiSchema>())
        {
            foreach (var (name, property) in (schema.Properties ?? new Dictionary<string, IOpenApiSchema>()).ToList())
            {
                if (property is not OpenApiSchema { OneOf: [OpenApiSchemaReference { Reference.Id: { } id } reference] } wrapper ||
                    wrapper.Type?.HasFlag(JsonSchemaType.Null) != true) continue;
                nullable.Add(id);
                schema.Properties![name] = reference;
            }
        }
        foreach (var id in nullable)
        {
            if (schemas.TryGetValue(id, out var found) && found is OpenApiSchema component) component.Type = (component.Type ?? JsonSchemaType.Object) | JsonSchemaType.Null;
        }
    }

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        document.Servers =
        [
            new OpenApiServer { Url = "/", Description = "The service that serves this document (by default http://localhost:5080)." },
        ];
        document.Tags = new HashSet<OpenApiTag>(Tags.Select(t => new OpenApiTag { Name = t.Name, Description = t.Description }));

        var schemas = document.Components?.Schemas;
        if (schemas is null) return;
        BatchItems(schemas);
        NullableReferences(schemas);
        foreach (var name in new[] { "ProblemDetails", "HttpValidationProblemDetails" })
        {
            if (!schemas.TryGetValue(name, out var found) || found is not OpenApiSchema problem || problem.Properties is null) continue;
            problem.Description = "RFC 9457 problem details (`application/problem+json`). `type` is the RFC section of the status code: " +
                string.Join(", ", ContractValues.ProblemTypes.Select(t => $"{t.Key} `{t.Value}`")) + ". Extra members (e.g. `traceId`, " +
                "`work` and `maxWork` on 422, `active` and `maxActive` on a quota 429) may appear.";
            problem.Required = new SortedSet<string>(StringComparer.Ordinal) { "status", "title", "type" };
            foreach (var (property, value) in problem.Properties)
            {
                if (value is OpenApiSchema p && property is "type" or "title" or "status" && p.Type is { } type) p.Type = type & ~JsonSchemaType.Null;
            }
            if (name == "HttpValidationProblemDetails" && problem.Properties.TryGetValue("errors", out var errors) && errors is OpenApiSchema e)
            {
                problem.Required.Add("errors");
                e.Type = JsonSchemaType.Object;
                e.Description = "Each invalid field (a JSON path such as `optimizer.momentum` or `fits[3].y`, or a header name) and its messages.";
            }
        }

        if (document.Components!.SecuritySchemes?.ContainsKey(Security.SwaggerSecurity.SchemeName) == true)
        {
            foreach (var operation in document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []))
            {
                if (operation.Security is not { Count: > 0 }) continue;
                // An empty requirement means "no credentials": in local mode a key is optional.
                if (keys.IsLocalMode) operation.Security.Add(new OpenApiSecurityRequirement());
            }
        }
    }
}
