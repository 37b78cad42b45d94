namespace FitService.Engine.Exact;

/// <summary>
/// The least-absolute-deviations (MAE) optimum. An optimum of the linear program always lies at a vertex: d+1 points
/// interpolated exactly (residual 0). IRLS brings the params near it; then simplex steps along the edges of the
/// objective (as Barrodale and Roberts) move from vertex to better vertex until the optimality condition holds: with
/// s the signs of the other residuals and V_B the rows of the interpolated points, w = V_B⁻ᵀ·Σ s_i·v_i has every
/// |w_j| ≤ 1 (0 is in the subdifferential). That condition is checked to 1e-9, so the result is the optimum up to
/// rounding, not an approximation.
/// </summary>
internal static class LeastAbsoluteDeviations
{
    public const double MultiplierTolerance = 1e-9;

    /// <summary>Residuals within this share of the largest |y| count as zero (rounding, not misfit).</summary>
    public const double ZeroTolerance = 1e-12;
    private const int IrlsIterations = 30;

    public static (double[] U, string Method) Solve(ScaledBasis basis, double[] y, double[] start, CancellationToken ct)
    {
        var n = y.Length;
        var m = basis.Size;
        var u = start;
        var residual = new double[n];
        var weights = new double[n];
        for (var iteration = 0; iteration < IrlsIterations; iteration++)
        {
            Residuals(basis, y, u, residual);
            var floor = Math.Max(1e-12, 1e-9 * residual.Average(Math.Abs));
            for (var i = 0; i < n; i++) weights[i] = 1 / Math.Max(Math.Abs(residual[i]), floor);
            u = ExactSolver.LeastSquares(basis, y, weights, out _);
        }
        Residuals(basis, y, u, residual);

        // The starting vertex: the d+1 points closest to the IRLS curve, with distinct x so that they determine the params.
        var order = Enumerable.Range(0, n).OrderBy(i => Math.Abs(residual[i])).ToArray();
        var chosen = new List<int>(m);
        var xs = new HashSet<double>();
        foreach (var i in order)
        {
            if (xs.Add(basis.X[i])) chosen.Add(i);
            if (chosen.Count == m) break;
        }
        var vertex = chosen.ToArray();
        var inVertex = new bool[n];
        foreach (var i in vertex) inVertex[i] = true;

        // A residual this small is zero up to the rounding of the interpolation: its point lies on the curve, and its
        // sign is noise. Data on a polynomial itself has every residual here, and is optimal as it stands.
        var zero = ZeroTolerance * Math.Max(1, y.Max(Math.Abs));
        bool IsZero(double r) => Math.Abs(r) <= zero;

        var rows = new double[n][];
        for (var i = 0; i < n; i++) { rows[i] = new double[m]; basis.Powers(basis.X[i], rows[i]); }
        var maxIterations = 1000 + 20 * m;
        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            ct.ThrowIfCancellationRequested();
            var vb = new double[m, m];
            var yb = new double[m];
            for (var a = 0; a < m; a++)
            {
                for (var k = 0; k < m; k++) vb[a, k] = rows[vertex[a]][k];
                yb[a] = y[vertex[a]];
            }
            u = DenseAlgebra.Solve(vb, yb);
            Residuals(basis, y, u, residual);
            var g = new double[m];
            for (var i = 0; i < n; i++)
            {
                if (inVertex[i] || IsZero(residual[i])) continue;
                var s = Math.Sign(residual[i]);
                for (var k = 0; k < m; k++) g[k] += s * rows[i][k];
            }
            var w = DenseAlgebra.Solve(vb, g, transpose: true);
            var j = 0;
            for (var a = 1; a < m; a++) if (Math.Abs(w[a]) > Math.Abs(w[j])) j = a;
            if (Math.Abs(w[j]) <= 1 + MultiplierTolerance)
                return (u, $"least absolute deviations: IRLS ({IrlsIterations} rounds), then {iteration} simplex steps to a vertex " +
                    $"interpolating {m} points, optimal by the subgradient condition (multipliers within 1 + {MultiplierTolerance:0e+0})");

            // Leave point vertex[j] along the edge where the other vertex points stay interpolated.
            var sigma = Math.Sign(w[j]);
            var e = new double[m];
            e[j] = sigma;
            var direction = DenseAlgebra.Solve(vb, e);
            var slope = 1 - Math.Abs(w[j]);
            var breaks = new List<(double T, double Jump, int Index)>();
            for (var i = 0; i < n; i++)
            {
                if (inVertex[i]) continue;
                var ai = 0.0;
                for (var k = 0; k < m; k++) ai += rows[i][k] * direction[k];
                if (ai == 0) continue;
                if (IsZero(residual[i])) slope += Math.Abs(ai);
                else if (residual[i] / ai > 0) breaks.Add((residual[i] / ai, 2 * Math.Abs(ai), i));
            }
            if (slope >= 0) throw new ExactSolverException("least absolute deviations: a degenerate vertex (tied residuals); no descent edge found");
            breaks.Sort((p, q) => p.T.CompareTo(q.T));
            var entering = -1;
            foreach (var (_, jump, index) in breaks)
            {
                slope += jump;
                if (slope >= 0) { entering = index; break; }
            }
            if (entering < 0) throw new ExactSolverException("least absolute deviations: the objective seemed unbounded (rounding); no optimum verified");
            inVertex[vertex[j]] = false;
            vertex[j] = entering;
            inVertex[entering] = true;
        }
        throw new ExactSolverException($"least absolute deviations: no verified optimum after {maxIterations} simplex steps");
    }

    private static void Residuals(ScaledBasis basis, double[] y, double[] u, double[] residual)
    {
        for (var i = 0; i < y.Length; i++) residual[i] = y[i] - basis.Value(u, basis.X[i]);
    }
}
