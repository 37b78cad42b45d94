using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FitService.Api.OpenApi;

/// <summary>
/// Completes each operation: every status code it can answer (the cross-cutting 401, 429 and 503 included) with a
/// problem-details body, every response header, the request headers it honours, and the exact media types of bodies that
/// are not JSON (CSV, NDJSON, SVG as binary).
/// </summary>
public sealed class ContractOperations : IOperationFilter
{
    /// <summary>POSTs that create something: idempotency keys, work bounds and quotas apply.</summary>
    private static readonly HashSet<string> Creates = ["SubmitFit", "SubmitBatch", "SubmitLearningRateFinder"];

    /// <summary>Operations that take <c>Prefer: wait=N</c>.</summary>
    private static readonly HashSet<string> Waits = ["SubmitFit", "GetFit", "SubmitLearningRateFinder", "GetLearningRateFinder", "GetBatch"];

    private static readonly HashSet<string> Svgs = ["GetFitPlot", "GetFitLossPlot", "GetLearningRateFinderPlot"];

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var id = operation.OperationId ?? "";
        if (context.ApiDescription.RelativePath?.StartsWith("v1/", StringComparison.OrdinalIgnoreCase) != true) return;
        operation.Responses ??= [];
        operation.Parameters ??= [];
        context.SchemaGenerator.GenerateSchema(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), context.SchemaRepository);
        context.SchemaGenerator.GenerateSchema(typeof(Microsoft.AspNetCore.Http.HttpValidationProblemDetails), context.SchemaRepository);
        var responses = operation.Responses;

        if (Creates.Contains(id))
        {
            Header(operation, IdempotencyHeader, "Repeating a request with the same key (per tenant, at most 200 printable characters) returns " +
                "what the first one created, with `Idempotent-Replayed: true`; the same key with a different request is 409.");
            Problem(responses, 409, "The `Idempotency-Key` was used with a different request.");
            Problem(responses, 422, "The request's work (points × steps × params) exceeds `Limits:MaxWork`; `work` and `maxWork` say by how much.");
        }
        if (id is "Evaluate" or "PredictWithFit")
        {
            Problem(responses, 422, "The request's own work (points × params) exceeds `Limits:MaxRequestWork`; `work` and `maxWork` say by how much.");
        }
        if (Waits.Contains(id))
        {
            Header(operation, "Prefer", "`wait=N` (0 ≤ N ≤ 60, RFC 7240): hold the answer until the run has ended or N seconds have passed.");
        }
        if (context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<Http.ETagged>().Any())
        {
            Header(operation, "If-None-Match", "An `ETag` from an earlier answer: 304 without a body while the resource is unchanged.");
            responses["304"] = new OpenApiResponse { Description = "Not modified: the resource still has the `ETag` given in `If-None-Match`.", Headers = Headers(("ETag", "The resource's entity tag.")) };
            AddHeaders(responses, "200", ("ETag", "The entity tag of this representation (strong; changes whenever the JSON does)."));
        }
        if (operation.RequestBody is not null)
        {
            Problem(responses, 400, "The request is invalid: `errors` names each field and its rule.", validation: true);
            Problem(responses, 413, "The body is larger than the service accepts.");
            Problem(responses, 415, "The body's `Content-Type` is not one this operation reads.");
        }

        switch (id)
        {
            case "SubmitFit":
            case "SubmitLearningRateFinder":
                AddHeaders(responses, "201", Location, PreferenceApplied, Replayed);
                AddHeaders(responses, "202", Location, RetryAfter("Seconds after which polling the resource is worth it."), Replayed);
                if (operation.RequestBody?.Content?.TryGetValue("text/csv", out var csv) == true && csv is OpenApiMediaType csvMedia)
                {
                    csvMedia.Schema = new OpenApiSchema { Type = JsonSchemaType.String, Description = "`x,y` rows (header optional); the other fields as query parameters, named as in JSON." };
                }
                break;
            case "SubmitBatch":
                AddHeaders(responses, "202", Location, Replayed);
                Problem(responses, 404, "The `Idempotency-Key` names a batch that has since been deleted.");
                break;
            case "CancelFit":
            case "CancelBatch":
            case "RedeliverWebhook":
            case "RedeliverBatchWebhook":
                AddHeaders(responses, "202", Location);
                break;
            case "GetFitHistory":
                Content(responses, "200", "text/csv", Text("`step,loss` rows after a header line; an empty loss is a non-finite one."));
                SetJson(responses, "200", context, typeof(HistoryPage));
                Problem(responses, 406, "`Accept` names neither JSON nor CSV.");
                break;
            case "PredictWithFit":
                // JSON by default, CSV when Accept asks for it: both, JSON first (the endpoint's two Produces of 200 keep only the last).
                Content(responses, "200", "text/csv", Text("`x,y` rows after a header line (`x0,x1,…,y` for rows of x; a `probability` column with loss bce)."));
                SetJson(responses, "200", context, typeof(PredictResult));
                break;
            case "GetBatchResults":
                responses["200"] = new OpenApiResponse
                {
                    Description = "One result per fit, in item order.",
                    Content = new Dictionary<string, IOpenApiMediaType>
                    {
                        // CSV first: NSwag reads the first media type, and takes any type naming "json" (NDJSON too) for one JSON document.
                        ["text/csv"] = Text("`label,status,stopReason,loss,p0,p1,…` after a header line (params highest power first)."),
                        ["application/x-ndjson"] = new OpenApiMediaType
                        {
                            Schema = new OpenApiSchema
                            {
                                Type = JsonSchemaType.String, Format = "binary",
                                Description = "JSON lines: each line one `BatchResult` object (see components/schemas/BatchResult), ended by `\\n`.",
                            },
                        },
                    },
                };
                context.SchemaGenerator.GenerateSchema(typeof(BatchResult), context.SchemaRepository);
                Problem(responses, 406, "`Accept` names neither NDJSON nor CSV.");
                break;
            case "StreamFitEvents":
                Content(responses, "200", "text/event-stream", Text("Server-sent events: `progress` (`FitProgressEvent` JSON) while the fit runs and a final `end` (`FitResource` JSON)."), replace: true);
                // The events' JSON is named in the description only (OpenAPI 3.0 cannot type an event stream): its schema must exist.
                context.SchemaGenerator.GenerateSchema(typeof(FitProgressEvent), context.SchemaRepository);
                break;
        }
        if (Svgs.Contains(id))
        {
            Content(responses, "200", "image/svg+xml", new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } }, replace: true);
        }

        ParameterRules(operation, id);

        Problem(responses, 401, "The API key is missing or wrong; only when keys are configured.");
        AddHeaders(responses, "401", ("WWW-Authenticate", "`Bearer`."));
        Problem(responses, 429, "Too many requests per second for this tenant, or too many of its fits queued or running.");
        AddHeaders(responses, "429", RetryAfter("Seconds to wait before retrying."));
        Problem(responses, 503, "The storage is busy or unavailable, or other large request bodies fill the room for this one " +
            "(`Limits:MaxBodyBytesInFlight`); nothing was stored. Retry after `Retry-After` seconds.");
        AddHeaders(responses, "503", RetryAfter("Seconds to wait before retrying."));
        if (context.ApiDescription.HttpMethod is "POST" or "DELETE")
        {
            Problem(responses, 507, "The storage is full; nothing was stored.");
            AddHeaders(responses, "507", RetryAfter("Seconds to wait before retrying."));
        }

        foreach (var (code, response) in responses.ToList())
        {
            if (response is OpenApiResponse concrete && int.TryParse(code, out var status) && status >= 400)
            {
                Problem(responses, status, concrete.Description ?? "", validation: code == "400", overwriteDescription: false);
            }
        }
        operation.Responses = Sorted(responses);
    }

    /// <summary>
    /// The rules the handlers enforce on query parameters and headers, so that a value the schema allows is one the service
    /// accepts (a fuzzer or a generated client takes the schema at its word).
    /// </summary>
    private static void ParameterRules(OpenApiOperation operation, string id)
    {
        foreach (var parameter in operation.Parameters!.OfType<OpenApiParameter>())
        {
            if (parameter.Schema is not OpenApiSchema schema) continue;
            switch (id, parameter.Name)
            {
                case (_, IdempotencyHeader):
                    schema.MaxLength = Fits.IdempotencyKey.MaxLength;
                    schema.Pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";
                    break;
                case ("ListFits", "status"):
                    schema.Enum = [.. ContractValues.FitStatuses.Select(v => (JsonNode)JsonValue.Create(v))];
                    break;
                case ("ListFits", "limit"):
                    Range(schema, 1, Fits.FitEndpoints.MaxListLimit, Fits.FitEndpoints.DefaultListLimit);
                    break;
                case ("GetFitHistory", "offset"):
                    schema.Minimum = "0";
                    schema.Default = JsonValue.Create(0);
                    break;
                case ("GetFitHistory", "limit"):
                    Range(schema, 1, Fits.FitEndpoints.MaxHistoryLimit, Fits.FitEndpoints.DefaultHistoryLimit);
                    break;
                case ("GetFitLossPlot", "scale"):
                    schema.Enum = [JsonValue.Create("linear"), JsonValue.Create("log")];
                    schema.Default = JsonValue.Create("linear");
                    break;
            }
        }
    }

    private static void Range(OpenApiSchema schema, int minimum, int maximum, int fallback)
    {
        schema.Minimum = minimum.ToString(System.Globalization.CultureInfo.InvariantCulture);
        schema.Maximum = maximum.ToString(System.Globalization.CultureInfo.InvariantCulture);
        schema.Default = JsonValue.Create(fallback);
    }

    private const string IdempotencyHeader = Fits.IdempotencyKey.Header;

    private static readonly (string, string) Location = ("Location", "The path of the resource.");
    private static readonly (string, string) PreferenceApplied = ("Preference-Applied", "`wait=N`: the answer waited for the end.");
    private static readonly (string, string) Replayed = (Fits.IdempotencyKey.ReplayedHeader, "`true` when this answer replays what an earlier request with the same `Idempotency-Key` created.");

    private static (string, string) RetryAfter(string description) => ("Retry-After", description);

    private static void Header(OpenApiOperation operation, string name, string description)
    {
        if (operation.Parameters!.Any(p => p.Name == name && p.In == ParameterLocation.Header)) return;
        operation.Parameters!.Add(new OpenApiParameter
        {
            Name = name, In = ParameterLocation.Header, Required = false, Description = description,
            Schema = new OpenApiSchema { Type = JsonSchemaType.String },
        });
    }

    private static Dictionary<string, IOpenApiHeader> Headers(params (string Name, string Description)[] headers) =>
        headers.ToDictionary(h => h.Name, h => (IOpenApiHeader)new OpenApiHeader
        {
            Description = h.Description,
            Schema = new OpenApiSchema { Type = h.Name == "Retry-After" ? JsonSchemaType.Integer : JsonSchemaType.String },
        });

    private static void AddHeaders(OpenApiResponses responses, string code, params (string Name, string Description)[] headers)
    {
        if (!responses.TryGetValue(code, out var response) || response is not OpenApiResponse concrete) return;
        concrete.Headers ??= new Dictionary<string, IOpenApiHeader>();
        foreach (var (name, header) in Headers(headers)) concrete.Headers[name] = header;
    }

    /// <summary>A problem-details answer for <paramref name="status"/>: validation problems carry <c>errors</c>.</summary>
    private static void Problem(OpenApiResponses responses, int status, string description, bool validation = false, bool overwriteDescription = true)
    {
        var code = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        responses.TryGetValue(code, out var existing);
        var response = existing as OpenApiResponse ?? new OpenApiResponse();
        if (overwriteDescription || string.IsNullOrEmpty(response.Description) || response.Description == code) response.Description = description;
        var schema = new OpenApiSchemaReference(validation ? "HttpValidationProblemDetails" : "ProblemDetails");
        response.Content = new Dictionary<string, IOpenApiMediaType> { ["application/problem+json"] = new OpenApiMediaType { Schema = schema } };
        responses[code] = response;
    }

    /// <summary>
    /// A text body that is not JSON, as <c>format: binary</c>: generators then hand the client a stream or a string instead of
    /// parsing it as JSON (NSwag's client did, and threw on every CSV).
    /// </summary>
    private static OpenApiMediaType Text(string description) =>
        new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = description } };

    private static void Content(OpenApiResponses responses, string code, string mediaType, OpenApiMediaType media, bool replace = false)
    {
        if (!responses.TryGetValue(code, out var response) || response is not OpenApiResponse concrete) return;
        if (replace || concrete.Content is null) concrete.Content = new Dictionary<string, IOpenApiMediaType>();
        concrete.Content[mediaType] = media;
    }

    private static void SetJson(OpenApiResponses responses, string code, OperationFilterContext context, Type type)
    {
        var schema = context.SchemaGenerator.GenerateSchema(type, context.SchemaRepository);
        var json = new OpenApiMediaType { Schema = schema };
        if (!responses.TryGetValue(code, out var response) || response is not OpenApiResponse concrete) return;
        // JSON first: it is the default, and generators that pick one media type pick the first.
        var rest = (concrete.Content ?? new Dictionary<string, IOpenApiMediaType>()).Where(c => c.Key != "application/json").ToList();
        concrete.Content = new Dictionary<string, IOpenApiMediaType> { ["application/json"] = json };
        foreach (var (key, value) in rest) concrete.Content[key] = value;
    }

    private static OpenApiResponses Sorted(OpenApiResponses responses)
    {
        var sorted = new OpenApiResponses();
        foreach (var (code, response) in responses.OrderBy(r => r.Key, StringComparer.Ordinal)) sorted[code] = response;
        return sorted;
    }
}
