using FitService.Engine.Optimization;

namespace FitService.Engine;

/// <summary>
/// A learning rate to suggest after a divergence, for the run as configured: its schedule (the rate that matters is
/// the largest one it reaches: exponential or step with γ &gt; 1 grow it, oneCycle peaks at its maximum), its optimizer and
/// its steps. For MSE with SGD (any momentum, dampening, Nesterov) the loss is a quadratic with Hessian H = (2/N)·VᵀV, and
/// every eigen-direction of H follows the same linear recurrence as the scalar problem ½λp² with λ ≤ λmax: the suggestion is
/// half the largest rate at which PyTorch's exact SGD update on that scalar problem, at λmax and over the schedule's whole
/// run, stays bounded — a factor of 2 inside stability (for plain SGD at a constant rate, 1/λmax against the bound 2/λmax).
/// Elsewhere (Adam, whose step is about the rate itself whatever the gradient; MAE and Huber, whose gradients are
/// bounded; formula models) no such bound exists: the suggestion makes the schedule's largest rate a tenth of the rate in
/// use when the run blew up. Always below the rate used, rounded down to one significant digit.
/// </summary>
public static class LearningRateAdvice
{
    /// <summary>The longest run simulated for the MSE bound (the recurrence is checked over the first this many steps).</summary>
    private const int MaxSimulatedSteps = 1_000_000;

    /// <summary>
    /// The suggested rate for <paramref name="problem"/> after it diverged with <paramref name="usedRate"/> (the base rate,
    /// or oneCycle's maximum), at update <paramref name="divergedAt"/> when known.
    /// </summary>
    public static double Suggest(FitProblem problem, double usedRate, int? divergedAt = null)
    {
        var steps = Math.Max(1, problem.Steps);
        var peak = PeakRate(problem.Schedule, usedRate, steps);
        var atBlowUp = divergedAt is { } s ? RateAt(problem.Schedule, usedRate, Math.Clamp(s, 0, steps - 1), steps) : peak;
        // The schedule scales with the base rate (oneCycle with its maximum): peak(c) = c·peak/used.
        var candidate = usedRate * (atBlowUp / 10) / peak;
        if (problem.IsPolynomial && problem.Loss.Kind == LossKind.Mse && problem.Optimizer is null or SgdSpec)
        {
            var lambda = LargestHessianEigenvalue(problem.X, problem.Degree);
            if (double.IsFinite(lambda) && lambda > 0 && LargestStableRate(problem, lambda, usedRate, steps) is { } stable) candidate = stable / 2;
        }
        if (problem.IsPolynomial && problem.Optimizer is AdamSpec adam && AdamReach(problem, adam, steps) is { } reach) candidate = Math.Min(candidate, reach);
        if (!(candidate < usedRate)) candidate = usedRate / 10;
        if (!(candidate >= 1e-300)) candidate = 1e-300;
        return RoundDown(candidate);
    }

    /// <summary>
    /// Adam moves a param by at most K·rate a step whatever the gradient (K = 10/((1 − β1/√β2)·√(1 − β2)), bias
    /// corrections included with room): the base rate at which the whole run's moves cannot take the polynomial's values
    /// past 1e100 (its loss then stays finite). Null when β1 ≥ √β2 (no such bound).
    /// </summary>
    private static double? AdamReach(FitProblem problem, AdamSpec adam, int steps)
    {
        var ratio = adam.Beta1 / Math.Sqrt(adam.Beta2);
        if (!(ratio < 1) || !(adam.Beta2 < 1)) return null;
        var k = 10 / ((1 - ratio) * Math.Sqrt(1 - adam.Beta2));
        var sum = 0.0;
        for (var i = 0; i < Math.Min(steps, MaxSimulatedSteps); i++) sum += RateAt(problem.Schedule, 1.0, i, steps);
        var xMax = Math.Max(1, problem.X.Max(Math.Abs));
        var start = problem.InitialParams?.Max(Math.Abs) ?? 0;
        var room = 1e100 / ((problem.Degree + 1) * Math.Pow(xMax, problem.Degree)) - start;
        var reach = room / (k * sum);
        return double.IsFinite(reach) && reach > 0 ? reach : null;
    }

    /// <summary>
    /// The largest base rate c ≤ <paramref name="usedRate"/> (to 1 %) at which SGD on ½λp² stays bounded over the run,
    /// by bracketing in log c; null when none is found above 1e-300.
    /// </summary>
    private static double? LargestStableRate(FitProblem problem, double lambda, double usedRate, int steps)
    {
        var sgd = problem.Optimizer as SgdSpec ?? new SgdSpec();
        var horizon = Math.Min(steps, MaxSimulatedSteps);
        bool Stable(double c) => Bounded(sgd, problem.Schedule, c, lambda, horizon, steps);
        if (Stable(usedRate)) return null;
        var low = Math.Min(usedRate, 1 / (lambda * PeakRate(problem.Schedule, usedRate, steps) / usedRate)) / 2;
        while (!Stable(low))
        {
            low /= 10;
            if (low < 1e-300) return null;
        }
        var high = Math.Min(usedRate, low * 1e3);
        while (high / low > 1.01)
        {
            var middle = Math.Sqrt(low * high);
            if (Stable(middle)) low = middle; else high = middle;
        }
        return low;
    }

    /// <summary>PyTorch's SGD update on f(p) = ½λp² from p = 1 at base rate c: true when |p| stays below 1e4 throughout.</summary>
    private static bool Bounded(SgdSpec sgd, ScheduleSpec? schedule, double c, double lambda, int horizon, int steps)
    {
        double p = 1, buffer = 0;
        for (var i = 0; i < horizon; i++)
        {
            var g = lambda * p;
            var d = g;
            if (sgd.Momentum != 0)
            {
                buffer = i > 0 ? sgd.Momentum * buffer + (1 - sgd.Dampening) * g : g;
                d = sgd.Nesterov ? g + sgd.Momentum * buffer : buffer;
            }
            p -= RateAt(schedule, c, i, steps) * d;
            if (!(Math.Abs(p) <= 1e4)) return false;
        }
        return true;
    }

    /// <summary>The rate at update i of a run with base rate <paramref name="c"/> (oneCycle: maximum c; its shape is relative).</summary>
    private static double RateAt(ScheduleSpec? schedule, double c, int i, int steps) => schedule switch
    {
        OneCycleSchedule o => Schedules.LearningRate(o with { MaxLearningRate = c }, c, i, steps),
        _ => Schedules.LearningRate(schedule, c, i, steps),
    };

    /// <summary>The largest rate the schedule reaches over the run at base rate <paramref name="c"/>.</summary>
    private static double PeakRate(ScheduleSpec? schedule, double c, int steps)
    {
        var peak = schedule switch
        {
            StepSchedule s when s.Gamma > 1 => c * Math.Pow(s.Gamma, (steps - 1) / s.Every),
            ExponentialSchedule e when e.Gamma > 1 => c * Math.Pow(e.Gamma, steps - 1),
            CosineSchedule cosine => Math.Max(c, cosine.MinLearningRate),
            _ => c,
        };
        return double.IsFinite(peak) ? peak : double.MaxValue;
    }

    /// <summary>λmax of (2/N)·VᵀV by power iteration on the (d+1)×(d+1) matrix of power sums.</summary>
    public static double LargestHessianEigenvalue(double[] x, int degree)
    {
        var n = degree + 1;
        var powerSums = new double[2 * degree + 1];
        foreach (var xi in x)
        {
            var power = 1.0;
            for (var m = 0; m < powerSums.Length; m++) { powerSums[m] += power; power *= xi; }
        }
        // H[j,k] = (2/N)·Σ x^(d−j)·x^(d−k), parameters highest power first.
        var h = new double[n, n];
        for (var j = 0; j < n; j++)
            for (var k = 0; k < n; k++)
                h[j, k] = 2.0 / x.Length * powerSums[2 * degree - j - k];
        var v = Enumerable.Repeat(1.0, n).ToArray();
        var w = new double[n];
        var lambda = 0.0;
        for (var iteration = 0; iteration < 1000; iteration++)
        {
            for (var j = 0; j < n; j++)
            {
                w[j] = 0;
                for (var k = 0; k < n; k++) w[j] += h[j, k] * v[k];
            }
            var norm = Math.Sqrt(w.Sum(e => e * e));
            if (!(norm > 0) || !double.IsFinite(norm)) return norm;
            for (var j = 0; j < n; j++) v[j] = w[j] / norm;
            if (Math.Abs(norm - lambda) <= 1e-12 * norm) return norm;
            lambda = norm;
        }
        return lambda;
    }

    private static double RoundDown(double rate)
    {
        var scale = Math.Pow(10, Math.Floor(Math.Log10(rate)));
        return Math.Floor(rate / scale * (1 + 1e-12)) * scale;
    }
}
