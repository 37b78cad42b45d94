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

    /// <summary>Params of the fit's model: degree + 1, the formula's count, or the network's.</summary>
    public static int Params(FitSpec spec) =>
        NetworkModels.IsNetwork(spec.Model) ? NetworkModels.ParameterCount(spec) : spec.Model?.Params?.Length ?? (spec.Degree ?? 0) + 1;

    /// <summary>All the work of the fit.</summary>
    public static double Of(FitSpec spec)
    {
        if (spec.Solver == FitValidator.Exact) return Exact(spec) + Statistics(spec);
        return Descent(spec) + (ComputesOptimum(spec) ? Exact(spec) : 0) + Statistics(spec);
    }

    /// <summary>
    /// The statistics of a network fit (R², residuals): a prediction at every point, row by row, at <see cref="NetworkPredictCost"/>
    /// per point and param; none for bce (no statistics) and a polynomial's are within its evaluations. Uncounted, they were
    /// most of the work of a network fit of few steps on many points (an mlp [300, 300] on 10⁶ rows: half an hour).
    /// </summary>
    public static double Statistics(FitSpec spec) =>
        NetworkModels.IsNetwork(spec.Model) && spec.Loss != "bce" ? NetworkPredictCost * Params(spec) * (double)spec.Points : 0;

    /// <summary>A network's prediction per point and param against a polynomial step's: <c>Network.Predict</c> goes row by row, ~5× the kernel's forward pass.</summary>
    public const double NetworkPredictCost = 5.0;

    /// <summary>
    /// The descent: points × (steps, plus the finder's sweep for "auto", plus the initial and final evaluations) × params. A network's
    /// step sees one batch of points (a row's features count through the first layer's params), its final loss all of them, each
    /// at <see cref="NetworkStepCost"/> times a polynomial step of as many params: the engine's <c>Network.EstimateWork</c>, plus the sweep.
    /// </summary>
    public static double Descent(FitSpec spec)
    {
        var parameters = Params(spec);
        var sweep = spec.LearningRate?.IsAuto == true ? new LearningRateSweep().Steps : 0;
        if (NetworkModels.IsNetwork(spec.Model))
        {
            var batch = Math.Min(spec.BatchSize ?? spec.Points, spec.Points);
            return NetworkStepCost * parameters * ((double)batch * (spec.Steps + sweep) + spec.Points);
        }
        var steps = spec.Steps + sweep + 2 * parameters;
        return (double)spec.Points * steps * parameters;
    }

    /// <summary>
    /// The exact optimum of a polynomial fit, or of a linear model's least squares (0 for the models and losses without one):
    /// the engine's own estimate, <see cref="ExactSolver.EstimateWork"/>, which owns the formula.
    /// </summary>
    public static double Exact(FitSpec spec) => HasOptimum(spec) ? Exact(spec.Points, Params(spec), spec.Loss) : 0;

    /// <summary>Whether the fit's model and loss have an exact optimum: a polynomial with mae, mse or huber, or model linear with mse.</summary>
    public static bool HasOptimum(FitSpec spec) =>
        spec.Model is null ? spec.Loss != "bce" : spec.Model.Type == NetworkModels.Linear && spec.Loss == "mse";

    /// <summary>The same estimate for a polynomial of <paramref name="parameters"/> params on <paramref name="points"/> points.</summary>
    public static double Exact(double points, int parameters, string? loss) => loss switch
    {
        "mse" => ExactSolver.EstimateWork(points, parameters, LossKind.Mse),
        "mae" => ExactSolver.EstimateWork(points, parameters, LossKind.Mae),
        "huber" => ExactSolver.EstimateWork(points, parameters, LossKind.Huber),
        _ => 0,
    };

    /// <summary>
    /// The most steps a polynomial descent can take within <paramref name="maxWork"/> once the finder's sweep (for "auto"),
    /// the evaluations and the optimum beside it are paid for.
    /// </summary>
    public static double AffordableSteps(double points, int parameters, string? loss, bool auto, double maxWork)
    {
        var exact = loss is null ? 0 : Exact(points, parameters, loss);
        var besides = exact <= MaxOptimumWork ? exact : 0;
        var perStep = Math.Max(1, points) * Math.Max(1, parameters);
        return (maxWork - besides) / perStep - (auto ? new LearningRateSweep().Steps : 0) - 2 * parameters;
    }

    /// <summary>A network's step per point and param against a polynomial's (forward, backward, recompute), as <c>Network.EstimateWork</c> counts it.</summary>
    public const double NetworkStepCost = 3.0;

    /// <summary>
    /// The most steps a network descent (batches of <paramref name="batch"/> of <paramref name="points"/>) can take within
    /// <paramref name="maxWork"/>, as <see cref="Descent"/> counts them, once its <see cref="Statistics"/> (when it has them) are paid for.
    /// </summary>
    public static double AffordableNetworkSteps(double points, double batch, int parameters, bool auto, bool statistics, double maxWork) =>
        ((maxWork - (statistics ? NetworkPredictCost * Math.Max(1, parameters) * points : 0)) / (NetworkStepCost * Math.Max(1, parameters)) - points) / Math.Max(1, batch)
        - (auto ? new LearningRateSweep().Steps : 0);

    /// <summary>
    /// One evaluation of a model of <paramref name="parameters"/> params at <paramref name="points"/> points (an evaluation, a
    /// prediction): points × params, the unit of the rest. It runs while the client waits, so it has its own bound,
    /// <c>Limits:MaxRequestWork</c>.
    /// </summary>
    public static double Evaluation(double points, int parameters) => points * Math.Max(1, parameters);

    /// <summary>Whether a descent fit gets the exact optimum beside it: it has one (<see cref="HasOptimum"/>), and it costs at most <see cref="MaxOptimumWork"/>.</summary>
    public static bool ComputesOptimum(FitSpec spec) => HasOptimum(spec) && Exact(spec) <= MaxOptimumWork;
}
