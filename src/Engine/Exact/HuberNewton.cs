namespace FitService.Engine.Exact;

/// <summary>
/// The Huber optimum: the objective Σ h(r_i) is convex and piecewise quadratic, so Newton's method on the active set
/// (points with |r| &lt; δ, quadratic; the others contribute a constant slope ±δ) with a backtracking line search lands
/// exactly on the optimum once the active set is right. When fewer than d+1 points are active the Newton system is
/// singular and an IRLS step (weights min(1, δ/|r|)) is taken instead. Stops when a full Newton step leaves the active
/// set unchanged, or the step is below 1e-13 of the params.
/// </summary>
internal static class HuberNewton
{
    private const int MaxIterations = 500;

    public static (double[] U, string Method) Solve(ScaledBasis basis, double[] y, double delta, double[] start, CancellationToken ct)
    {
        var n = y.Length;
        var m = basis.Size;
        var u = start;
        var residual = new double[n];
        Span<double> row = stackalloc double[m];
        Residuals(basis, y, u, residual);
        var objective = Objective(residual, delta);
        for (var iteration = 1; iteration <= MaxIterations; iteration++)
        {
            ct.ThrowIfCancellationRequested();
            var qr = new RowQr(m);
            var outside = new double[m];
            var active = 0;
            for (var i = 0; i < n; i++)
            {
                basis.Powers(basis.X[i], row);
                if (Math.Abs(residual[i]) < delta) { qr.Add(row, residual[i]); active++; }
                else for (var k = 0; k < m; k++) outside[k] += delta * Math.Sign(residual[i]) * row[k];
            }
            double[] step;
            var newton = active >= m && qr.FullRank;
            if (newton)
            {
                // min ½‖V_A·Δ − r_A‖² − δ·gᵀΔ: R·Δ = Qᵀr_A + R⁻ᵀ·g.
                step = qr.Solve(qr.SolveTransposed(outside));
            }
            else
            {
                var weights = residual.Select(r => Math.Min(1, delta / Math.Abs(r))).ToArray();
                var next = ExactSolver.LeastSquares(basis, y, weights, out _);
                step = [.. next.Select((v, k) => v - u[k])];
            }

            var scale = 1.0;
            double[] candidate;
            var candidateResidual = new double[n];
            double candidateObjective;
            while (true)
            {
                candidate = [.. u.Select((v, k) => v + scale * step[k])];
                Residuals(basis, y, candidate, candidateResidual);
                candidateObjective = Objective(candidateResidual, delta);
                if (candidateObjective <= objective * (1 + 1e-15) || scale < 1e-12) break;
                scale /= 2;
            }
            var sameActiveSet = true;
            for (var i = 0; i < n && sameActiveSet; i++) sameActiveSet = Math.Abs(residual[i]) < delta == Math.Abs(candidateResidual[i]) < delta;
            var stepSize = step.Max(Math.Abs) * scale;
            var size = Math.Max(u.Max(Math.Abs), 1e-300);
            if (candidateObjective <= objective)
            {
                (u, objective) = (candidate, candidateObjective);
                Array.Copy(candidateResidual, residual, n);
            }
            if ((newton && scale == 1.0 && sameActiveSet) || stepSize <= 1e-13 * size)
                return (u, $"Huber (δ = {delta}): Newton on the active set with line search, {iteration} iterations, " +
                    "stopped when a full Newton step kept the active set (exact up to rounding) or the step fell below 1e-13 of the params");
        }
        throw new ExactSolverException($"Huber: no convergence after {MaxIterations} Newton/IRLS iterations");
    }

    private static void Residuals(ScaledBasis basis, double[] y, double[] u, double[] residual)
    {
        for (var i = 0; i < y.Length; i++) residual[i] = y[i] - basis.Value(u, basis.X[i]);
    }

    private static double Objective(double[] residual, double delta)
    {
        var sum = 0.0;
        foreach (var r in residual)
        {
            var a = Math.Abs(r);
            sum += a < delta ? 0.5 * a * a : delta * (a - 0.5 * delta);
        }
        return sum;
    }
}
