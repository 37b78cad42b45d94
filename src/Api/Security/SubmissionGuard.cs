using System.Globalization;
using FitService.Api.Fits;
using FitService.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FitService.Api.Security;

/// <summary>
/// What one tenant may ask of the workers: a bound on the work of one fit (<see cref="FitWork"/>) and on the fits
/// it has queued or running at once. Every path that creates fits (single, batch) calls it before storing.
/// </summary>
public sealed class SubmissionGuard(IFitReader store, IOptions<LimitsOptions> limits)
{
    public const int QuotaRetryAfterSeconds = 10;

    /// <summary>
    /// The 422 for a request whose own work (<see cref="FitWork.Evaluation"/>: <paramref name="points"/> × <paramref name="parameters"/>)
    /// exceeds <c>Limits:MaxRequestWork</c>, or null when it may run; <paramref name="what"/> names the computation.
    /// </summary>
    public static ProblemHttpResult? CheckRequestWork(string what, double points, int parameters, LimitsOptions limits)
    {
        var work = FitWork.Evaluation(points, parameters);
        if (work <= limits.MaxRequestWork) return null;
        return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Request too large",
            detail: string.Create(CultureInfo.InvariantCulture,
                $"{what} of {points} points with {parameters} params costs points × params = {work:0.###e0}, which exceeds the bound of " +
                $"{limits.MaxRequestWork:0.###e0} (Limits:MaxRequestWork) for work done while the client waits. Send fewer points per request."),
            extensions: new Dictionary<string, object?> { ["work"] = work, ["maxWork"] = limits.MaxRequestWork });
    }

    /// <summary>A problem to answer instead of accepting <paramref name="fits"/> new fits, or null when they may go ahead.</summary>
    public async Task<ProblemHttpResult?> CheckAsync(HttpContext http, string tenant, IReadOnlyCollection<FitSpec> fits, CancellationToken ct)
    {
        var bound = limits.Value;
        if (fits.FirstOrDefault(f => FitWork.Of(f) > bound.MaxWork) is { } heavy)
        {
            var work = FitWork.Of(heavy);
            var what = heavy.Solver == FitValidator.Exact
                ? string.Create(CultureInfo.InvariantCulture, $"the exact {heavy.Loss} optimum of {heavy.Points} points and {FitWork.Params(heavy)} params costs about {work:0.###e0}")
                : string.Create(CultureInfo.InvariantCulture, $"points × steps × params = {heavy.Points} × {heavy.Steps} × {FitWork.Params(heavy)}, with the optimum beside it, costs about {work:0.###e0}");
            return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Fit too large",
                detail: string.Create(CultureInfo.InvariantCulture,
                    $"{what}, which exceeds the bound of {bound.MaxWork:0.###e0} (Limits:MaxWork). Use fewer points or steps, or fewer params (a lower degree, a smaller network)."),
                extensions: new Dictionary<string, object?> { ["work"] = work, ["maxWork"] = bound.MaxWork });
        }

        var active = await store.CountActiveAsync(tenant, ct);
        if (active + fits.Count > bound.MaxActiveFitsPerTenant)
        {
            http.Response.Headers.RetryAfter = QuotaRetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many active fits",
                detail: $"You have {active} fits queued or running; at most {bound.MaxActiveFitsPerTenant} are allowed at once " +
                        "(Limits:MaxActiveFitsPerTenant). Retry when some have ended, or cancel some.",
                extensions: new Dictionary<string, object?> { ["active"] = active, ["maxActive"] = bound.MaxActiveFitsPerTenant });
        }
        return null;
    }
}
