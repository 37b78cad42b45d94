using System.Globalization;
using System.Text;
using FitService.Api.Auth;
using FitService.Api.Storage;
using FitService.Engine.Models;
using FitService.Engine.Networks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FitService.Api.Fits;

/// <summary><c>POST /v1/fits/{id}/predict</c>: the fitted model at new x, as JSON or CSV.</summary>
public static class PredictEndpoints
{
    public const string CsvMediaType = "text/csv";

    public static RouteHandlerBuilder MapPredictions(this IEndpointRouteBuilder app) =>
        app.MapPost("/v1/fits/{id}/predict", Predict).WithName("PredictWithFit").WithTags("Fits")
            .WithSummary("The fitted model at new x")
            .WithDescription("`{\"x\": [1.5, 2.5]}` answers `{\"y\": [f(1.5), f(2.5)]}` with the params of a succeeded fit. " +
                "A network fit on many features takes rows, `{\"x\": [[22, 7.25], [38, 71.3]]}`, in the units of the fit's x (its " +
                "standardization is applied); with `loss: bce` the answer adds `probabilities` (σ of each logit `y`). " +
                "Also takes `text/csv` (one x per row, or the columns named by `?x=NAME`, `?x=age,fare` or indexes, header optional) and, " +
                "with `Accept: text/csv`, answers `x,y` CSV (`x0,x1,…,y`, and `probability` for bce). At most `Limits:MaxPoints` values. " +
                "409 when the fit has not succeeded.")
            .Accepts<PredictRequest>("application/json", CsvMediaType)
            .Produces<PredictResult>()
            .Produces<string>(StatusCodes.Status200OK, CsvMediaType)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

    public static async Task<Results<Ok<PredictResult>, ContentHttpResult, ValidationProblem, ProblemHttpResult>> Predict(
        string id, HttpContext http, IFitReader store, IOptions<LimitsOptions> limits, string? x, CancellationToken ct)
    {
        var fit = await store.GetAsync(http.Tenant(), id, includeHistory: false, ct);
        if (fit is not { Kind: FitKinds.Fit }) return FitEndpoints.NotFound(id);
        var resource = FitMapper.ToResource(fit, 0);
        if (resource.Status != "succeeded" || resource.Params is not { } parameters)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The fit has not succeeded",
                detail: $"Fit {id} is {resource.Status}; predictions use the params of a succeeded fit.");
        }

        var errors = new ValidationErrors();
        var spec = resource.Request;
        var features = spec.Features ?? 1;
        XValues? input;
        if (http.Request.ContentType?.Split(';')[0].Trim().Equals(CsvMediaType, StringComparison.OrdinalIgnoreCase) == true)
        {
            var body = await FitRequestReader.ReadBodyAsync(http.Request, limits.Value.MaxRequestBytes, ct);
            if (body is null) return FitRequestReader.TooLargeProblem(limits.Value);
            input = ReadCsv(body, x, features, limits.Value, errors);
        }
        else
        {
            var read = await FitRequestReader.ReadJsonAsync<PredictRequest>(http.Request, limits.Value, ct);
            if (read.Request is null)
            {
                return read.Errors is { } readErrors
                    ? FitEndpoints.Invalid(readErrors)
                    : read.Problem();
            }
            if (x is not null) errors.Add("x", "the query's x names a CSV column; with JSON send the values as {\"x\": [...]}");
            input = read.Request.X;
        }
        var xs = errors.Any ? null : ValidateX(input, spec, limits.Value, errors);
        if (errors.Any) return FitEndpoints.Invalid(errors);
        if (Security.SubmissionGuard.CheckRequestWork("A prediction", xs!.Length / features, parameters.Length, limits.Value) is { } tooLarge) return tooLarge;

        var ys = Evaluate(spec, parameters, xs!, resource.Standardization);
        var probabilities = spec.Loss == "bce" ? Network.Probabilities(ys) : null;
        if (!AcceptsCsv(http.Request))
        {
            return TypedResults.Ok(new PredictResult(Array.ConvertAll(ys, FitMapper.FiniteOrNull))
            {
                Probabilities = probabilities is null ? null : Array.ConvertAll(probabilities, FitMapper.FiniteOrNull),
            });
        }
        var csv = new StringBuilder(xs!.Length * 40);
        csv.Append(features == 1 ? "x" : string.Join(',', Enumerable.Range(0, features).Select(j => $"x{j}"))).Append(probabilities is null ? ",y\n" : ",y,probability\n");
        for (var i = 0; i < ys.Length; i++)
        {
            for (var j = 0; j < features; j++) csv.Append(xs[i * features + j].ToString("R", CultureInfo.InvariantCulture)).Append(',');
            csv.Append(Cell(ys[i]));
            if (probabilities is not null) csv.Append(',').Append(Cell(probabilities[i]));
            csv.Append('\n');
        }
        return TypedResults.Text(csv.ToString(), CsvMediaType, Encoding.UTF8);
    }

    private static string Cell(double value) => double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : "";

    /// <summary>
    /// The x of a prediction, row-major: numbers for a one-feature model, rows of the fit's number of features for a network;
    /// at most <c>Limits:MaxPoints</c> finite values.
    /// </summary>
    private static double[]? ValidateX(XValues? x, FitSpec spec, LimitsOptions limits, ValidationErrors errors)
    {
        var features = spec.Features ?? 1;
        if (x is null) errors.Add("x", "is required");
        else if (x.AsRows && !NetworkModels.IsNetwork(spec.Model)) errors.Add("x", "is a list of rows (many features): this fit's model takes one; send x as a list of numbers");
        else if (x.RaggedRow is { } row) errors.Add("x", $"row {row} has {x.RaggedLength} values; row 0 has {x.Features}: every row must have as many");
        else if (x.Features != features) errors.Add("x", $"rows have {x.Features} value{(x.Features == 1 ? "" : "s")}; this fit's model takes {features} features a row");
        else if (x.Count == 0) errors.Add("x", "must have at least 1 value");
        else if (x.Values.Length > limits.MaxPoints) errors.Add("x", $"has {x.Values.Length} values; at most {limits.MaxPoints} (Limits:MaxPoints) are allowed");
        else if (Array.FindIndex(x.Values, v => !double.IsFinite(v)) is var bad and >= 0) errors.Add("x", $"value at index {bad} is not finite");
        return errors.Any ? null : x!.Values;
    }

    /// <summary>
    /// f(x) at <paramref name="parameters"/> for the fit's model (the polynomial by Horner's rule, its formula, or its network on
    /// rows of x, row-major, with the fit's <paramref name="standardization"/> applied).
    /// </summary>
    public static double[] Evaluate(FitSpec spec, double[] parameters, double[] xs, StandardizationDto? standardization = null)
    {
        if (NetworkModels.IsNetwork(spec.Model)) return NetworkModels.Predict(spec, parameters, xs, standardization);
        var formula = FitValidator.FormulaOf(spec);
        var ys = new double[xs.Length];
        for (var i = 0; i < xs.Length; i++) ys[i] = formula?.Evaluate(parameters, xs[i]) ?? Polynomial.Evaluate(parameters, xs[i]);
        return ys;
    }

    private static XValues? ReadCsv(byte[] body, string? column, int features, LimitsOptions limits, ValidationErrors errors)
    {
        if (CsvTable.Parse(body, limits.MaxPoints) is not { } table)
        {
            errors.Add("body", "is not valid UTF-8");
            return null;
        }
        // The column named "x", or the ones the query names (as many as the fit's features; ?x=age,fare).
        var fallback = table.Header is { } header && Array.IndexOf(header, "x") is var named and >= 0 ? named : 0;
        if (table.Columns(column, fallback, "x", errors) is not { } columns) return null;
        if (columns.Length != features)
        {
            errors.Add("x", $"names {columns.Length} column{(columns.Length == 1 ? "" : "s")}; this fit's model takes {features} features: name them as ?x=a,b,…");
            return null;
        }
        var values = table.Numbers(columns, errors);
        if (errors.Any) return null;
        return columns.Length == 1 ? values[0] : new XValues(CsvTable.Interleave(values), columns.Length);
    }

    private static bool AcceptsCsv(HttpRequest request) =>
        request.GetTypedHeaders().Accept is { Count: > 0 } accept &&
        accept.Any(a => a.MediaType.Equals(CsvMediaType, StringComparison.OrdinalIgnoreCase)) &&
        !accept.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase));
}
