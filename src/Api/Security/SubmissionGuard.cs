using System.Collections.Concurrent;
using System.Globalization;
using FitService.Api.Fits;
using FitService.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FitService.Api.Security;

/// <summary>
/// What one tenant may ask of the workers: a bound on the work of one fit (<see cref="FitWork"/>) and on the fits
/// it has queued or running at once. Every path that creates fits (single, batch) calls it before storing, and
/// <see cref="Stored"/> once the store has answered.
/// </summary>
/// <remarks>
/// Fits this process let through count as active from the check until their store call returns (they are "in flight"),
/// so submissions that arrive together cannot all see the same count and pass the quota together. A count read afresh
/// is the store's count plus the fits in flight; the fresh counts of one tenant are taken one at a time. A fit that is
/// stored but not yet released may be counted twice: a count that would refuse while others are in flight, or while
/// one was released during the count, is read again once they are released, so what is refused is refused on an
/// exact count.
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

    /// <summary>Fresh counts a refusal waits through for fits in flight to be released, at most (each waits for a release).</summary>
    private const int MaxCountRounds = 64;

    private static readonly object LeaseKey = new();

    private readonly ConcurrentDictionary<string, TenantCount> _counts = new(StringComparer.Ordinal);

    /// <summary>One tenant's fits in flight in this process, and its last count (fields guarded by the instance's lock).</summary>
    private sealed class TenantCount
    {
        /// <summary>Fresh counts of one tenant are taken one at a time.</summary>
        public SemaphoreSlim Counting { get; } = new(1, 1);

        /// <summary>Fits let through whose store call has not returned.</summary>
        public int InFlight { get; set; }

        /// <summary>How many leases were released: a count during which one was is ambiguous.</summary>
        public long Releases { get; set; }

        /// <summary>Completed at the next release.</summary>
        public TaskCompletionSource Released { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>When <see cref="Count"/> was read; null before the first count.</summary>
        public long? ReadAt { get; set; }

        /// <summary>The active fits when last counted, those in flight included.</summary>
        public int Count { get; set; }

        /// <summary>The fits this process let through since.</summary>
        public int AddedSince { get; set; }
    }

    /// <summary>The fits one request let through, in flight until released.</summary>
    private sealed class Lease(TenantCount tenant, int fits) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1) return;
            TaskCompletionSource released;
            lock (tenant)
            {
                tenant.InFlight -= fits;
                tenant.Releases++;
                released = tenant.Released;
                tenant.Released = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            released.TrySetResult();
        }
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
        if (_counts.Count >= MaxRememberedTenants) _counts.Clear();
        var counts = _counts.GetOrAdd(tenant, _ => new TenantCount());
        if (reuse > TimeSpan.Zero && TryReuseCount(counts, fits.Count, bound.MaxActiveFitsPerTenant, reuse)) return LetThrough(http, counts, fits.Count);
        await counts.Counting.WaitAsync(ct);
        try
        {
            // Requests that queued behind one count share it.
            if (reuse > TimeSpan.Zero && TryReuseCount(counts, fits.Count, bound.MaxActiveFitsPerTenant, reuse)) return LetThrough(http, counts, fits.Count);
            var active = 0;
            for (var round = 0; round < MaxCountRounds; round++)
            {
                long releasesBefore;
                lock (counts) releasesBefore = counts.Releases;
                var stored = await store.CountActiveAsync(tenant, ct);
                int inFlight;
                bool releasedMeanwhile;
                Task nextRelease;
                lock (counts)
                {
                    inFlight = counts.InFlight;
                    releasedMeanwhile = counts.Releases != releasesBefore;
                    nextRelease = counts.Released.Task;
                    active = stored + inFlight;
                    if (!releasedMeanwhile && active + fits.Count <= bound.MaxActiveFitsPerTenant)
                    {
                        counts.ReadAt = clock.GetTimestamp();
                        counts.Count = active;
                        counts.AddedSince = fits.Count;
                        counts.InFlight += fits.Count;
                        return LetThrough(http, counts, fits.Count);
                    }
                }
                if (releasedMeanwhile) continue;
                // Refused only on an exact count: fits in flight may be counted twice (stored and not yet released).
                if (inFlight == 0) break;
                await nextRelease.WaitAsync(ct);
            }
            http.Response.Headers.RetryAfter = QuotaRetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many active fits",
                detail: $"You have {active} fits queued or running; at most {bound.MaxActiveFitsPerTenant} are allowed at once " +
                        "(Limits:MaxActiveFitsPerTenant). Retry when some have ended, or cancel some.",
                extensions: new Dictionary<string, object?> { ["active"] = active, ["maxActive"] = bound.MaxActiveFitsPerTenant });
        }
        finally
        {
            counts.Counting.Release();
        }
    }

    /// <summary>
    /// Ends the flight of the fits <paramref name="http"/>'s check let through: the store has answered (stored, replayed or
    /// failed). A request that ends without calling it releases them as it is disposed.
    /// </summary>
    public static void Stored(HttpContext http)
    {
        if (http.Items.Remove(LeaseKey, out var lease)) ((Lease)lease!).Dispose();
    }

    /// <summary>Gives the request the lease of <paramref name="fits"/> the caller counted in flight.</summary>
    private static ProblemHttpResult? LetThrough(HttpContext http, TenantCount counts, int fits)
    {
        var lease = new Lease(counts, fits);
        http.Items[LeaseKey] = lease;
        http.Response.RegisterForDispose(lease);
        return null;
    }

    /// <summary>Whether a recent count shows room for <paramref name="adding"/> more fits within half the quota (then counted as added and in flight).</summary>
    private bool TryReuseCount(TenantCount known, int adding, int quota, TimeSpan reuse)
    {
        lock (known)
        {
            if (known.ReadAt is not { } readAt || clock.GetElapsedTime(readAt) >= reuse) return false;
            if (2L * (known.Count + known.AddedSince + adding) > quota) return false;
            known.AddedSince += adding;
            known.InFlight += adding;
            return true;
        }
    }
}
