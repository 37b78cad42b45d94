using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FitService.Api.OpenApi;

/// <summary>
/// Makes each schema say exactly what the wire carries. Responses: a property is required unless it is left out when null,
/// and nullable only where the service writes null. Requests: the validator's rules (required fields, enums, bounds,
/// lengths), never null. Rules are keyed by schema name, so the DTOs may live in any project.
/// </summary>
public sealed class ContractSchemas(IOptions<LimitsOptions> limitsOptions) : ISchemaFilter
{
    /// <summary>Types that are sent to the service: their schemas carry the validator's rules.</summary>
    private static readonly HashSet<string> RequestTypes =
    [
        "FitRequest", "OptimizerDto", "ScheduleDto", "StopDto", "ModelDto", "WebhookDto", "BatchRequest", "LearningRateFinderRequest", "EvaluateRequest",
        "PredictRequest",
    ];

    private readonly NullabilityInfoContext _nullability = new();

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema s || s.Properties is not { Count: > 0 } || context.Type.Assembly != typeof(FitResource).Assembly) return;
        var name = context.Type.Name;
        var limits = limitsOptions.Value;
        if (RequestTypes.Contains(name))
        {
            foreach (var property in s.Properties.Values.OfType<OpenApiSchema>()) NotNull(property);
            ApplyRequestRules(name, s, limits);
            // An optional field may be null, meaning "the default" (the reader treats null as absent). Saying so matters:
            // NSwag makes non-nullable optional numbers plain ints and doubles and would send 0 for every field left out.
            foreach (var (field, property) in s.Properties.ToList())
            {
                if (s.Required?.Contains(field) != true) s.Properties[field] = Optional(property);
            }
        }
        else
        {
            ApplyResponseShape(context.Type, s);
            ApplyResponseRules(name, s);
        }
    }

    private void ApplyResponseShape(Type type, OpenApiSchema schema)
    {
        var required = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<JsonIgnoreAttribute>() is { Condition: JsonIgnoreCondition.Always }) continue;
            var json = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            if (!schema.Properties!.TryGetValue(json, out var propertySchema)) continue;
            var omittedWhenNull = property.GetCustomAttribute<JsonIgnoreAttribute>() is { Condition: JsonIgnoreCondition.WhenWritingNull };
            if (!omittedWhenNull) required.Add(json);
            var nullable = !omittedWhenNull && IsNullable(property);
            schema.Properties[json] = Nullable(propertySchema, nullable);
        }
        schema.Required = required;
    }

    private bool IsNullable(PropertyInfo property) =>
        System.Nullable.GetUnderlyingType(property.PropertyType) is not null ||
        (!property.PropertyType.IsValueType && _nullability.Create(property).ReadState != NullabilityState.NotNull);

    /// <summary>
    /// Sets or clears null in a property's type. A reference that may be null becomes a one-branch <c>oneOf</c> with a type and
    /// <c>nullable</c> (OpenAPI 3.0's way; NSwag, Kiota and openapi-typescript all read it as the referenced type or null).
    /// </summary>
    private static IOpenApiSchema Nullable(IOpenApiSchema property, bool nullable)
    {
        switch (property)
        {
            case OpenApiSchemaReference reference when nullable:
                return new OpenApiSchema { Type = JsonSchemaType.Object | JsonSchemaType.Null, OneOf = [reference] };
            case OpenApiSchema inline when inline.AllOf is { Count: 1 } && inline.Properties is null or { Count: 0 }:
                return nullable ? new OpenApiSchema { Type = JsonSchemaType.Object | JsonSchemaType.Null, OneOf = [inline.AllOf[0]], Description = inline.Description } : inline.AllOf[0];
            case OpenApiSchema inline:
                if (nullable) inline.Type |= JsonSchemaType.Null;
                else NotNull(inline);
                return inline;
            default:
                return property;
        }
    }

    /// <summary>The same property, also allowing null (a copy: schemas may share property objects).</summary>
    public static IOpenApiSchema Optional(IOpenApiSchema property)
    {
        switch (property)
        {
            case OpenApiSchemaReference reference:
                return new OpenApiSchema { Type = JsonSchemaType.Object | JsonSchemaType.Null, OneOf = [reference] };
            case OpenApiSchema inline when inline.Type is { } type && inline.CreateShallowCopy() is OpenApiSchema copy:
                copy.Type = type | JsonSchemaType.Null;
                if (copy.Enum is { } values && !values.Contains(null!)) copy.Enum = [.. values, null!];
                return copy;
            default:
                return property;
        }
    }

    private static void NotNull(OpenApiSchema schema)
    {
        if (schema.Type is { } type) schema.Type = type & ~JsonSchemaType.Null;
        // Swashbuckle makes a nullable oneOf (learningRate) by adding a null branch.
        if (schema.OneOf is List<IOpenApiSchema> branches) branches.RemoveAll(IsNullOnly);
        else if (schema.OneOf is { } others) schema.OneOf = others.Where(b => !IsNullOnly(b)).ToList();
    }

    private static bool IsNullOnly(IOpenApiSchema branch) =>
        branch.Type == JsonSchemaType.Null || (branch.Type is null && branch.Enum is [null]);

    private static void ApplyResponseRules(string name, OpenApiSchema s)
    {
        switch (name)
        {
            case "FitResource":
                Enum(s, "status", ContractValues.FitStatuses);
                Enum(s, "stopReason", ContractValues.FitStopReasons);
                Describe(s, "stopReason", "Null until the fit has ended. `solverFailed`: `solver: \"exact\"` could not verify an optimum " +
                    "(e.g. its params overflow a double); status failed, `error` and `optimumError` say why. `error`: the worker could not run it " +
                    "(the learning-rate finder found no rate for `\"auto\"`, or the fit crashed the worker repeatedly); `error` says why.");
                NullableItems(s, "params");
                Enum(s, "optimumStatus", ContractValues.OptimumStatuses);
                break;
            case "FitSpec":
                Enum(s, "solver", ContractValues.Solvers);
                Enum(s, "loss", ContractValues.Losses);
                break;
            case "LearningRateFinderResource":
                Enum(s, "status", ContractValues.FitStatuses);
                Enum(s, "stopReason", ContractValues.FinderStopReasons);
                break;
            case "LearningRateFinderSpec":
                Enum(s, "loss", ContractValues.Losses);
                break;
            case "BatchResource":
                Enum(s, "status", ContractValues.BatchStatuses);
                break;
            case "BatchResult":
                Enum(s, "status", ContractValues.FitStatuses);
                Enum(s, "stopReason", ContractValues.FitStopReasons);
                NullableItems(s, "params");
                break;
            case "DeliveryList":
                Enum(s, "type", ContractValues.WebhookEventTypes);
                Enum(s, "state", ContractValues.DeliveryStates);
                break;
            case "OptimumDto":
                // A singular Vandermonde matrix has an infinite condition number, written as null.
                MakeNullable(s, "conditionNumber");
                MakeNullable(s, "scaledConditionNumber");
                break;
            case "FitProgressEvent":
                NullableItems(s, "params");
                break;
        }
    }

    private static void ApplyRequestRules(string name, OpenApiSchema s, LimitsOptions limits)
    {
        switch (name)
        {
            case "FitRequest":
                // Only the points: every other field has a default (degree 2, loss mse, learningRate "auto", steps until converged).
                Require(s, "x", "y");
                Points(s, limits);
                Bounds(s, "degree", 0, Engine.Models.Polynomial.MaxDegree);
                Enum(s, "solver", ContractValues.Solvers);
                Enum(s, "loss", ContractValues.Losses);
                Bounds(s, "huberDelta", 0, null, exclusiveMinimum: true);
                Bounds(s, "steps", 1, limits.MaxSteps);
                MaxItems(s, "initialParams", Math.Max(Math.Max(Engine.Models.Polynomial.MaxDegree + 1, Engine.Formulas.Formula.MaxParams), Math.Min(limits.MaxNetworkParams, Engine.Networks.NetworkSpec.MaxParams)));
                Bounds(s, "historyEvery", 1, null);
                MaxLength(s, "label", limits.MaxLabelLength);
                Bounds(s, "seed", 0, null);
                Bounds(s, "batchSize", 1, limits.MaxPoints);
                Bounds(s, "epochs", 1, limits.MaxSteps);
                break;
            case "LearningRateFinderRequest":
                Require(s, "x", "y", "loss");
                Points(s, limits);
                Bounds(s, "degree", 0, Engine.Models.Polynomial.MaxDegree);
                Enum(s, "loss", ContractValues.Losses);
                Bounds(s, "huberDelta", 0, null, exclusiveMinimum: true);
                MaxItems(s, "initialParams", Math.Max(Engine.Models.Polynomial.MaxDegree + 1, Engine.Formulas.Formula.MaxParams));
                Bounds(s, "startLearningRate", 0, null, exclusiveMinimum: true);
                Bounds(s, "endLearningRate", 0, null, exclusiveMinimum: true);
                Bounds(s, "steps", Engine.LearningRates.LearningRateFinder.MinSteps, Engine.LearningRates.LearningRateFinder.MaxSteps);
                MaxLength(s, "label", limits.MaxLabelLength);
                break;
            case "EvaluateRequest":
                // degree, or model (a formula or a network).
                Require(s, "x", "y", "loss", "params");
                Points(s, limits);
                Bounds(s, "degree", 0, Engine.Models.Polynomial.MaxDegree);
                Enum(s, "loss", ContractValues.Losses);
                Bounds(s, "huberDelta", 0, null, exclusiveMinimum: true);
                MaxItems(s, "params", Math.Max(Math.Max(Engine.Models.Polynomial.MaxDegree + 1, Engine.Formulas.Formula.MaxParams), Math.Min(limits.MaxNetworkParams, Engine.Networks.NetworkSpec.MaxParams)));
                break;
            case "PredictRequest":
                Require(s, "x");
                MinMaxItems(s, "x", 1, limits.MaxPoints);
                break;
            case "BatchRequest":
                Require(s, "fits");
                MinMaxItems(s, "fits", 1, limits.MaxBatchFits);
                MaxLength(s, "label", limits.MaxLabelLength);
                break;
            case "OptimizerDto":
                Require(s, "type");
                Enum(s, "type", ContractValues.Optimizers);
                Bounds(s, "momentum", 0, null);
                Bounds(s, "dampening", 0, null);
                Bounds(s, "beta1", 0, 1, exclusiveMaximum: true);
                Bounds(s, "beta2", 0, 1, exclusiveMaximum: true);
                Bounds(s, "epsilon", 0, null);
                break;
            case "ScheduleDto":
                Require(s, "type");
                Enum(s, "type", ContractValues.Schedules);
                Bounds(s, "every", 1, null);
                Bounds(s, "gamma", 0, null, exclusiveMinimum: true);
                Bounds(s, "minLearningRate", 0, null);
                Bounds(s, "maxLearningRate", 0, null, exclusiveMinimum: true);
                Bounds(s, "warmupFraction", 0, 1, exclusiveMinimum: true, exclusiveMaximum: true);
                break;
            case "StopDto":
                Bounds(s, "minImprovement", 0, null);
                Bounds(s, "patience", 1, null);
                break;
            case "ModelDto":
                // No field is required by itself: a formula needs formula and params, relu units, mlp layers (see the descriptions).
                Enum(s, "type", Fits.NetworkModels.Types);
                MaxLength(s, "formula", Engine.Formulas.Formula.MaxLength);
                Bounds(s, "units", 1, Engine.Networks.NetworkSpec.MaxUnits);
                MinMaxItems(s, "layers", 1, Engine.Networks.NetworkSpec.MaxLayers);
                if (Property(s, "layers")?.Items is OpenApiSchema layer)
                {
                    layer.Minimum = "1";
                    layer.Maximum = Number(Engine.Networks.NetworkSpec.MaxUnits);
                }
                Enum(s, "activation", Fits.NetworkModels.Activations);
                break;
            case "WebhookDto":
                Require(s, "url");
                if (Property(s, "url") is { } url)
                {
                    url.Format = "uri";
                    url.MaxLength = 2048;
                }
                break;
        }
    }

    private static OpenApiSchema? Property(OpenApiSchema s, string name) =>
        s.Properties?.TryGetValue(name, out var p) == true ? p as OpenApiSchema : null;

    private static void Require(OpenApiSchema s, params string[] names)
    {
        s.Required ??= new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in names) s.Required.Add(name);
    }

    private static void Points(OpenApiSchema s, LimitsOptions limits)
    {
        MinMaxItems(s, "x", 1, limits.MaxPoints);
        MinMaxItems(s, "y", 1, limits.MaxPoints);
    }

    private static void Enum(OpenApiSchema s, string name, IEnumerable<string> values)
    {
        if (Property(s, name) is not { } p) return;
        var nullable = p.Type?.HasFlag(JsonSchemaType.Null) == true;
        p.Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))];
        // OpenAPI 3.0: enum restricts even a nullable value, so null is listed when it occurs.
        if (nullable) p.Enum.Add(null!);
    }

    private static void Describe(OpenApiSchema s, string name, string text)
    {
        if (Property(s, name) is { } p) p.Description = string.IsNullOrEmpty(p.Description) ? text : p.Description + " " + text;
    }

    private static void MakeNullable(OpenApiSchema s, string name)
    {
        if (Property(s, name) is { } p) p.Type |= JsonSchemaType.Null;
    }

    private static void NullableItems(OpenApiSchema s, string name)
    {
        if (Property(s, name)?.Items is OpenApiSchema items) items.Type |= JsonSchemaType.Null;
    }

    private static void Bounds(OpenApiSchema s, string name, double? minimum, double? maximum, bool exclusiveMinimum = false, bool exclusiveMaximum = false)
    {
        if (Property(s, name) is not { } p) return;
        if (minimum is { } min)
        {
            if (exclusiveMinimum) p.ExclusiveMinimum = Number(min);
            else p.Minimum = Number(min);
        }
        if (maximum is { } max)
        {
            if (exclusiveMaximum) p.ExclusiveMaximum = Number(max);
            else p.Maximum = Number(max);
        }
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static void MinMaxItems(OpenApiSchema s, string name, int min, int max)
    {
        if (Property(s, name) is not { } p) return;
        p.MinItems = min;
        p.MaxItems = max;
    }

    private static void MaxItems(OpenApiSchema s, string name, int max)
    {
        if (Property(s, name) is { } p) p.MaxItems = max;
    }

    private static void MaxLength(OpenApiSchema s, string name, int max)
    {
        if (Property(s, name) is { } p) p.MaxLength = max;
    }
}
