using System.Collections.Concurrent;
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
/// <remarks>
/// Counting a tenant's active fits is a query per submission, as costly as storing the fit (on PostgreSQL a round trip
/// and a statement: ~13 % of an API process's CPU per POST). A tenant far below its quota does not need an exact count:
/// a count read less than <c>Limits:ActiveCountReuseMilliseconds</c> (100 ms) ago, plus what this process let through
/// since, is reused while that sum with the new fits stays within half the quota. Near the quota (and after that time)
/// every submission counts afresh. Ends only lower the true count, and this process's own submissions are added, so the
/// reused figure can be short only by what other API processes accepted meanwhile: a tenant can pass its quota only if
/// other processes accept more than half of it within that time.
/// </remarks>
public sealed class SubmissionGuard(IFitReader store, IOptions<LimitsOptions> limits, TimeProvider clock)
{
    public const int QuotaRetryAfterSeconds = 10;

    /// <summary>Tenants come from configured keys; the bound only keeps a misconfiguration from growing it without end.</summary>
    private const int MaxRememberedTenants = 10_000;

    private readonly ConcurrentDictionary<string, ActiveCount> _counts = new(StringComparer.Ordinal);

    /// <summary>A count read at <see cref="ReadAt"/>, and the fits this process let through since.</summary>
    private sealed class ActiveCount(long readAt, int count)
    {
        public long ReadAt { get; } = readAt;
        public int Count { get; } = count;
        public int AddedSince { get; set; }
    }

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

        var reuse = TimeSpan.FromMilliseconds(bound.ActiveCountReuseMilliseconds);
        if (reuse > TimeSpan.Zero && TryReuseCount(tenant, fits.Count, bound.MaxActiveFitsPerTenant, reuse)) return null;
        var active = await store.CountActiveAsync(tenant, ct);
        if (active + fits.Count > bound.MaxActiveFitsPerTenant)
        {
            http.Response.Headers.RetryAfter = QuotaRetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many active fits",
                detail: $"You have {active} fits queued or running; at most {bound.MaxActiveFitsPerTenant} are allowed at once " +
                        "(Limits:MaxActiveFitsPerTenant). Retry when some have ended, or cancel some.",
                extensions: new Dictionary<string, object?> { ["active"] = active, ["maxActive"] = bound.MaxActiveFitsPerTenant });
        }
        if (_counts.Count >= MaxRememberedTenants) _counts.Clear();
        _counts[tenant] = new ActiveCount(clock.GetTimestamp(), active) { AddedSince = fits.Count };
        return null;
    }

    /// <summary>Whether a recent count shows room for <paramref name="adding"/> more fits within half the quota (then counted as added).</summary>
    private bool TryReuseCount(string tenant, int adding, int quota, TimeSpan reuse)
    {
        if (!_counts.TryGetValue(tenant, out var known)) return false;
        lock (known)
        {
            if (clock.GetElapsedTime(known.ReadAt) >= reuse) return false;
            if (2L * (known.Count + known.AddedSince + adding) > quota) return false;
            known.AddedSince += adding;
            return true;
        }
    }
}
