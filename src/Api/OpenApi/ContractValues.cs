using FitService.Api.Fits;
using FitService.Api.Jobs;
using FitService.Api.Storage;

namespace FitService.Api.OpenApi;

/// <summary>
/// Every enumerated value of the wire format, in one place: the OpenAPI document lists them and docs/api.md explains them.
/// New values are additions to the contract (clients generated with enums must be regenerated), so they are added here first.
/// </summary>
public static class ContractValues
{
    /// <summary>A fit's and a finder run's <c>status</c>.</summary>
    public static readonly string[] FitStatuses = Enum.GetValues<FitStatus>().Select(s => s.ToWire()).ToArray();

    /// <summary>
    /// A fit's <c>stopReason</c> once ended: all steps done, a stop rule fired, non-finite loss or params, cancelled;
    /// <c>exact</c> (<c>solver: "exact"</c>, the optimum is the result) or <c>solverFailed</c> (it could not verify an
    /// optimum); or <c>error</c> (the worker could not run it: the learning-rate finder found no rate, or it gave up after
    /// repeated crashes; <c>error</c> says which).
    /// </summary>
    public static readonly string[] FitStopReasons = ["steps", "converged", "diverged", "cancelled", "exact", FitRunner.SolverFailed, "error"];

    /// <summary>A finder run's <c>stopReason</c>: <c>exploded</c> is the usual end (the smoothed loss passed 4× its best).</summary>
    public static readonly string[] FinderStopReasons = ["exploded", "diverged", "steps", "cancelled", "error"];

    /// <summary>A fit's <c>optimumStatus</c>: whether <c>optimum</c> is coming, there, failed (see <c>optimumError</c>) or not computed for this model.</summary>
    public static readonly string[] OptimumStatuses = [Fits.OptimumStatuses.Pending, Fits.OptimumStatuses.Ready, Fits.OptimumStatuses.Failed, Fits.OptimumStatuses.NotApplicable];

    /// <summary>A batch's <c>status</c>.</summary>
    public static readonly string[] BatchStatuses = ["queued", "running", "completed"];

    /// <summary>A webhook event's <c>type</c>.</summary>
    public static readonly string[] WebhookEventTypes = ["fit.succeeded", "fit.failed", "fit.cancelled", "batch.completed"];

    /// <summary>A webhook event's delivery <c>state</c>.</summary>
    public static readonly string[] DeliveryStates = ["pending", "delivered", "gone", "failed"];

    public static IReadOnlyList<string> Losses => FitValidator.Losses;
    public static IReadOnlyList<string> Optimizers => FitValidator.Optimizers;
    public static IReadOnlyList<string> Schedules => FitValidator.Schedules;
    public static IReadOnlyList<string> Solvers => FitValidator.Solvers;

    /// <summary>
    /// Problem details' <c>type</c>: the RFC 9110 section of the status code (what ASP.NET Core writes), so a client may
    /// switch on <c>status</c> or <c>type</c> alike.
    /// </summary>
    public static readonly IReadOnlyDictionary<int, string> ProblemTypes = new Dictionary<int, string>
    {
        [400] = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        [401] = "https://tools.ietf.org/html/rfc9110#section-15.5.2",
        [404] = "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        [405] = "https://tools.ietf.org/html/rfc9110#section-15.5.6",
        [406] = "https://tools.ietf.org/html/rfc9110#section-15.5.7",
        [409] = "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        [413] = "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        [415] = "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        [422] = "https://tools.ietf.org/html/rfc9110#section-15.5.21",
        [429] = "https://tools.ietf.org/html/rfc6585#section-4",
        [500] = "https://tools.ietf.org/html/rfc9110#section-15.6.1",
        [503] = "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        [507] = "https://tools.ietf.org/html/rfc4918#section-11.5",
    };
}
