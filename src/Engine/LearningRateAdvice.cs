namespace FitService.Engine;

/// <summary>
/// A learning rate to suggest after a divergence. For MSE with plain or momentum SGD the loss is a
/// quadratic with Hessian H = (2/N)·VᵀV (V the Vandermonde matrix of x), and gradient descent is stable
/// only for rates below 2/λmax(H); we suggest 1/λmax, safely inside. For other losses and for Adam
/// there is no such bound (nor for formula models), so a tenth of the rate used. Always below the rate used, rounded down to
/// one significant digit.
/// </summary>
public static class LearningRateAdvice
{
    /// <summary>The suggested rate for <paramref name="problem"/> after it diverged with <paramref name="usedRate"/>.</summary>
    public static double Suggest(FitProblem problem, double usedRate)
    {
        var candidate = usedRate / 10;
        if (problem.Formula is null && problem.Loss.Kind == LossKind.Mse && problem.Optimizer is null or SgdSpec { Momentum: < 1 })
        {
            var bound = 1.0 / LargestHessianEigenvalue(problem.X, problem.Degree);
            if (double.IsFinite(bound) && bound > 0 && bound < usedRate) candidate = bound;
        }
        return RoundDown(candidate);
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
