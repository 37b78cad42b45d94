using FitService.Engine;
using FitService.Engine.Exact;
using FitService.Engine.LearningRates;

namespace FitService.Api.Fits;

/// <summary>
/// The one cost model of a fit, in units of one point × one update × one param (what a step of descent costs per
/// param). Everything a worker does for the fit is counted: the descent, the finder's sweep for <c>"auto"</c>, and the
/// exact optimum (the whole job for <c>solver: "exact"</c>, or computed beside a descent). <c>Limits:MaxWork</c>, the
/// queue's small-fit chunks and <c>Retry-After</c> all read it.
/// </summary>
public static class FitWork
{
    /// <summary>
    /// The exact optimum beside a descent is computed only up to this estimated work (~10 s of one worker); beyond it
    /// the fit reports <c>optimumError</c> instead, so a cheap descent never hides a long solve.
    /// </summary>
    public const double MaxOptimumWork = 1e10;

    /// <summary>Params of the fit's model: degree + 1, or the formula's count.</summary>
    public static int Params(FitSpec spec) => spec.Model?.Params?.Length ?? (spec.Degree ?? 0) + 1;

    /// <summary>All the work of the fit.</summary>
    public static double Of(FitSpec spec)
    {
        if (spec.Solver == FitValidator.Exact) return Exact(spec);
        return Descent(spec) + (ComputesOptimum(spec) ? Exact(spec) : 0);
    }

    /// <summary>The descent: points × (steps, plus the finder's sweep for "auto", plus the initial and final evaluations) × params.</summary>
    public static double Descent(FitSpec spec)
    {
        var parameters = Params(spec);
        var steps = spec.Steps + (spec.LearningRate?.IsAuto == true ? new LearningRateSweep().Steps : 0) + 2 * parameters;
        return (double)spec.Points * steps * parameters;
    }

    /// <summary>
    /// The exact optimum of a polynomial fit (0 for a formula model, which has none): the engine's own estimate,
    /// <see cref="ExactSolver.EstimateWork"/>, which owns the formula.
    /// </summary>
    public static double Exact(FitSpec spec) => spec.Model is null ? Exact(spec.Points, Params(spec), spec.Loss) : 0;

    /// <summary>The same estimate for a polynomial of <paramref name="parameters"/> params on <paramref name="points"/> points.</summary>
    public static double Exact(double points, int parameters, string? loss) =>
        ExactSolver.EstimateWork(points, parameters, loss switch { "mse" => LossKind.Mse, "mae" => LossKind.Mae, _ => LossKind.Huber });

    /// <summary>
    /// The most steps a polynomial descent can take within <paramref name="maxWork"/> once the finder's sweep (for "auto"),
    /// the evaluations and the optimum beside it are paid for.
    /// </summary>
    public static double AffordableSteps(double points, int parameters, string? loss, bool auto, double maxWork)
    {
        var exact = Exact(points, parameters, loss);
        var besides = exact <= MaxOptimumWork ? exact : 0;
        var perStep = Math.Max(1, points) * Math.Max(1, parameters);
        return (maxWork - besides) / perStep - (auto ? new LearningRateSweep().Steps : 0) - 2 * parameters;
    }

    /// <summary>Whether a descent fit gets the exact optimum beside it: a polynomial, and the optimum costs at most <see cref="MaxOptimumWork"/>.</summary>
    public static bool ComputesOptimum(FitSpec spec) => spec.Model is null && Exact(spec) <= MaxOptimumWork;
}
