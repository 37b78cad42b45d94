using System.Globalization;
using System.Text;
using FitService.Api.Auth;
using FitService.Api.Storage;
using FitService.Engine.Models;
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
                "Also takes `text/csv` (one x per row, or the column named by `?x=NAME`/index, header optional) and, with `Accept: text/csv`, " +
                "answers `x,y` CSV. At most `Limits:MaxPoints` values. 409 when the fit has not succeeded.")
            .Accepts<PredictRequest>("application/json", CsvMediaType)
            .Produces<PredictResult>()
            .Produces<string>(StatusCodes.Status200OK, CsvMediaType)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

    public static async Task<Results<Ok<PredictResult>, ContentHttpResult, ValidationProblem, ProblemHttpResult>> Predict(
        string id, HttpContext http, IFitStore store, IOptions<LimitsOptions> limits, string? x, CancellationToken ct)
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
        double[]? xs;
        if (http.Request.ContentType?.Split(';')[0].Trim().Equals(CsvMediaType, StringComparison.OrdinalIgnoreCase) == true)
        {
            var body = await FitRequestReader.ReadBodyAsync(http.Request, limits.Value.MaxRequestBytes, ct);
            if (body is null) return FitRequestReader.TooLargeProblem(limits.Value);
            xs = ReadCsv(body, x, limits.Value, errors);
        }
        else
        {
            var read = await FitRequestReader.ReadJsonAsync<PredictRequest>(http.Request, limits.Value, ct);
            if (read.Request is null)
            {
                return read.Errors is { } readErrors
                    ? FitEndpoints.Invalid(readErrors)
                    : TypedResults.Problem(statusCode: read.Status, title: read.Title, detail: read.Detail);
            }
            if (x is not null) errors.Add("x", "the query's x names a CSV column; with JSON send the values as {\"x\": [...]}");
            if (read.Request.X is { AsRows: true }) errors.Add("x", "is a list of rows (many features): this fit's model takes one; send x as a list of numbers");
            xs = read.Request.X?.Values;
        }
        if (xs is null) errors.Add("x", "is required");
        else if (xs.Length == 0) errors.Add("x", "must have at least 1 value");
        else if (xs.Length > limits.Value.MaxPoints) errors.Add("x", $"has {xs.Length} values; at most {limits.Value.MaxPoints} (Limits:MaxPoints) are allowed");
        else if (Array.FindIndex(xs, v => !double.IsFinite(v)) is var bad and >= 0) errors.Add("x", $"value at index {bad} is not finite");
        if (errors.Any) return FitEndpoints.Invalid(errors);

        var ys = Evaluate(resource.Request, parameters, xs!);
        if (!AcceptsCsv(http.Request)) return TypedResults.Ok(new PredictResult(Array.ConvertAll(ys, FitMapper.FiniteOrNull)));
        var csv = new StringBuilder(xs!.Length * 40).Append("x,y\n");
        for (var i = 0; i < xs.Length; i++)
        {
            csv.Append(xs[i].ToString("R", CultureInfo.InvariantCulture)).Append(',')
               .Append(double.IsFinite(ys[i]) ? ys[i].ToString("R", CultureInfo.InvariantCulture) : "").Append('\n');
        }
        return TypedResults.Text(csv.ToString(), CsvMediaType, Encoding.UTF8);
    }

    /// <summary>f(x) at <paramref name="parameters"/> for the fit's model (the polynomial by Horner's rule, or its formula).</summary>
    public static double[] Evaluate(FitSpec spec, double[] parameters, double[] xs)
    {
        var formula = FitValidator.FormulaOf(spec);
        var ys = new double[xs.Length];
        for (var i = 0; i < xs.Length; i++) ys[i] = formula?.Evaluate(parameters, xs[i]) ?? Polynomial.Evaluate(parameters, xs[i]);
        return ys;
    }

    private static double[]? ReadCsv(byte[] body, string? column, LimitsOptions limits, ValidationErrors errors)
    {
        if (CsvTable.Parse(body, limits.MaxPoints) is not { } table)
        {
            errors.Add("body", "is not valid UTF-8");
            return null;
        }
        // One column, the one named "x", or the one the query names.
        var fallback = table.Header is { } header && Array.IndexOf(header, "x") is var named and >= 0 ? named : 0;
        if (table.Column(column, fallback, "x", errors) is not { } index) return null;
        var values = table.Numbers([index], errors)[0];
        return errors.Any ? null : values;
    }

    private static bool AcceptsCsv(HttpRequest request) =>
        request.GetTypedHeaders().Accept is { Count: > 0 } accept &&
        accept.Any(a => a.MediaType.Equals(CsvMediaType, StringComparison.OrdinalIgnoreCase)) &&
        !accept.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase));
}
