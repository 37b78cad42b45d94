using System.Globalization;
using System.Text;
using FitService.Api.Auth;
using FitService.Api.Fits;
using FitService.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FitService.Api.Plots;

/// <summary>Pictures of a fit, rendered on the server as SVG 1.1 (no browser, no native library).</summary>
public static class PlotEndpoints
{
    public const string SvgMediaType = "image/svg+xml";

    /// <summary>History entries read at a time for the loss picture (512 KB).</summary>
    private const int HistoryPage = 65_536;

    public static RouteGroupBuilder MapPlots(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/fits").WithTags("Plots");

        group.MapGet("/{id}/plot.svg", Plot).WithName("GetFitPlot")
            .WithSummary("Picture of a fit (SVG)")
            .WithDescription("The points, the curve at the fit's params (solid; its progress while running) and at its initial params (dashed), " +
                "axes with ticks and labels, and the loss in the title; for the lesson's sum of ReLUs (`model.type` relu) also each ReLU's part of the sum. " +
                "More than 2,000 points are thinned evenly for drawing, and the picture says so. 409 for a network of several features (no curve over one x).")
            .Produces<string>(StatusCodes.Status200OK, SvgMediaType)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapGet("/{id}/loss.svg", LossHistory).WithName("GetFitLossPlot")
            .WithSummary("Picture of a fit's loss history (SVG)")
            .WithDescription("The loss before each update and the final loss, on a linear axis or with `scale=log` a log10 axis. " +
                "Marks the step where a stop rule fired, where the fit was cancelled, or where divergence began.")
            .Produces<string>(StatusCodes.Status200OK, SvgMediaType)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        return group;
    }

    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> Plot(string id, HttpContext http, IFitReader store, CancellationToken ct)
    {
        var fit = await store.GetAsync(http.Tenant(), id, includeHistory: false, ct);
        var points = fit is null ? null : await store.GetPointsAsync(id, ct);
        if (fit is null || points is null) return FitEndpoints.NotFound(id);

        var resource = FitMapper.ToResource(fit, 0);
        var spec = resource.Request;
        if (spec.Features is > 1)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "No curve over one x",
                detail: $"Fit {id} has {spec.Features} features: its model is not a curve over one x axis. Its loss history is drawn at /v1/fits/{id}/loss.svg.");
        }
        var count = FitWork.Params(spec);
        // A fit that ended without params (a failed exact fit has none) is drawn without its curve.
        var parameters = FitPlot.Drawable(resource.Params, count);
        var initial = NetworkModels.Of(spec) is { } network && spec.InitialParams is null
            ? Engine.Networks.Network.InitialParams(network, 1, (ulong)(spec.Seed ?? 0))
            : spec.InitialParams;
        var svg = FitPlot.Render(new FitPlotInput(
            Title(resource, $"{ModelPhrase(spec, brief: true)}, {spec.Loss.ToUpperInvariant()}, {LossPhrase(resource)}"),
            points.X, points.Y, parameters, FitPlot.Drawable(initial, count), resource.Loss,
            $"Fit {resource.Id} ({resource.Status}): {spec.Points} points, {ModelPhrase(spec, brief: false)}, params " +
            (parameters is null ? "not known" : string.Join(", ", parameters.Select(p => p.ToString("R", CultureInfo.InvariantCulture)))) + ".",
            (p, xs) => PredictEndpoints.Evaluate(spec, p, xs, resource.Standardization),
            spec.Model?.Type == NetworkModels.Relu ? (p, xs) => NetworkModels.UnitContributions(spec, p, xs, resource.Standardization) : null));
        return Svg(http, svg);
    }

    public static async Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> LossHistory(
        string id, HttpContext http, IFitReader store, string? scale, CancellationToken ct)
    {
        if (scale is not (null or "linear" or "log"))
        {
            var errors = new ValidationErrors();
            errors.Add("scale", "must be linear or log");
            return FitEndpoints.Invalid(errors);
        }
        var fit = await store.GetAsync(http.Tenant(), id, includeHistory: false, ct);
        if (fit is null) return FitEndpoints.NotFound(id);

        // The history is read in pages into a curve of bounded size (min and max per bucket): a 2,000,000-step history
        // read whole took ~70 MB a request, 1.1 GB for 16 at once.
        var first = await store.GetHistoryAsync(http.Tenant(), id, 0, HistoryPage, ct);
        var curve = new LossCurve(first?.Total ?? 0);
        var read = 0;
        for (var page = first?.Page; page is { Length: > 0 }; page = read < curve.Count ? (await store.GetHistoryAsync(http.Tenant(), id, read, HistoryPage, ct))?.Page : null)
        {
            curve.Add(page);
            read += page.Length;
        }
        // Gone or restarted (a retried attempt starts a new history) while read: drawn without history.
        if (read < curve.Count) curve = new LossCurve(0);
        var resource = FitMapper.ToResource(fit, 0);
        var svg = LossPlot.Render(new LossPlotInput(
            Title(resource, $"loss history ({resource.Request.Loss.ToUpperInvariant()}), {LossPhrase(resource)}"),
            [], fit.HistoryEvery, fit.Step, fit.Loss, fit.StopReason, scale == "log",
            $"Loss of fit {resource.Id} ({resource.Status}) before each of its {fit.Step} updates" +
            (fit.HistoryEvery > 1 ? $" (every {fit.HistoryEvery}th recorded)" : "") + $", and after the last: {SvgCanvas.Loss(fit.Loss)}."), curve);
        return Svg(http, svg);
    }

    private static string ModelPhrase(FitSpec spec, bool brief) => spec.Model switch
    {
        null => $"{(brief ? "" : "polynomial of ")}degree {spec.Degree}",
        { Type: NetworkModels.Relu } m => $"{(brief ? "" : "a sum of ")}{m.Units} ReLUs",
        { Type: NetworkModels.Mlp } m => $"{(brief ? "" : "a network, ")}mlp [{string.Join(", ", m.Layers ?? [])}] {m.Activation}",
        { Type: NetworkModels.Linear } => brief ? "linear" : "a linear model",
        var m => $"{(brief ? "" : "the formula ")}{m.Formula}",
    };

    private static string Title(FitResource fit, string what) => $"{fit.Label ?? "fit " + fit.Id[..Math.Min(8, fit.Id.Length)]}: {what}";

    private static string LossPhrase(FitResource fit) => fit.Status switch
    {
        "succeeded" or "failed" or "cancelled" => $"final loss {SvgCanvas.Loss(fit.Loss)}" + (fit.StopReason is "steps" or null ? "" : $" ({fit.StopReason})"),
        "running" => $"running, step {fit.Step} of {fit.Steps}, loss {SvgCanvas.Loss(fit.Loss)}",
        _ => "queued",
    };

    private static ContentHttpResult Svg(HttpContext http, string svg)
    {
        // A running fit's picture changes from one request to the next.
        http.Response.Headers.CacheControl = "no-cache";
        return TypedResults.Text(svg, SvgMediaType, Encoding.UTF8);
    }
}
