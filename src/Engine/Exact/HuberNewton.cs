namespace FitService.Engine.Exact;

/// <summary>
/// The Huber optimum. The objective Σ h(r_i) is convex with a continuous, piecewise-linear gradient
/// g = −Σ ψ(r_i)·v_i (ψ clamps r to [−δ, δ]) and the Hessian of its active set (|r| &lt; δ). Each iteration takes the Newton
/// direction of the active set (regularised when fewer than d+1 independent points are active, which makes it a scaled
/// gradient step) and then an exact line search: along the direction the slope φ'(α) is monotone and piecewise linear,
/// so the step is bracketed and found by safeguarded regula falsi, never by comparing rounded objective values. That is
/// a descent method with exact line search on a convex C¹ function, so it converges; once the active set is right a
/// full Newton step lands on the optimum. It stops when the gradient vanishes to rounding (1e-13 of its scale), when a
/// full Newton step keeps the active set, or when no step moves the params. With weights the objective is Σ w_i·h(r_i):
/// each point's gradient, Hessian and line-search slope carry its weight (not its row: δ stays in units of r).
/// </summary>
internal static class HuberNewton
{
    private const int MaxIterations = 500;

    public static (double[] U, int Iterations, double GradientNorm) Solve(ScaledBasis basis, double[] y, double[]? weights, double delta, double[] start, CancellationToken ct)
    {
        var total = weights?.Sum() ?? y.Length;
        var n = y.Length;
        var m = basis.Size;
        var u = (double[])start.Clone();
        var residual = new double[n];
        var slope = new double[n];
        var row = new double[m];
        var gradient = new double[m];
        double gradientNorm = double.PositiveInfinity, gradientScale = 0;
        var previousActive = new bool[n];
        var active = new bool[n];

        void Evaluate()
        {
            var c = basis.PowerCoefficients(u);
            Array.Clear(gradient);
            gradientScale = 0;
            for (var i = 0; i < n; i++)
            {
                var r = y[i] - basis.ValueAt(c, i);
                residual[i] = r;
                active[i] = Math.Abs(r) < delta;
                var psi = Math.Clamp(r, -delta, delta) * (weights?[i] ?? 1.0);
                basis.Row(i, row);
                for (var k = 0; k < m; k++) { gradient[k] -= psi * row[k]; gradientScale += Math.Abs(psi * row[k]); }
            }
            gradientNorm = Math.Sqrt(gradient.Sum(v => v * v));
        }

        Evaluate();
        for (var iteration = 1; iteration <= MaxIterations; iteration++)
        {
            ct.ThrowIfCancellationRequested();
            if (gradientNorm <= 1e-13 * gradientScale) return (u, iteration - 1, gradientNorm / total);

            var qr = new RowQr(m, n + m);
            var count = 0;
            var activeWeight = 0.0;
            for (var i = 0; i < n; i++)
            {
                if (!active[i]) continue;
                basis.Row(i, row);
                var weight = weights?[i] ?? 1.0;
                qr.Add(row, 0, weight);
                activeWeight += weight;
                count++;
            }
            var newton = count >= m && qr.FullRank;
            if (!newton)
            {
                // H + μI: too few active points to fix every direction; μ keeps the step finite, the line search its length.
                var mu = Math.Sqrt(1e-10 * (count > 0 ? activeWeight : total / n));
                for (var k = 0; k < m; k++) { Array.Clear(row); row[k] = mu; qr.Add(row, 0); }
            }
            var minusGradient = gradient.Select(v => -v).ToArray();
            var direction = qr.Solve(qr.SolveTransposed(minusGradient));

            var dc = basis.PowerCoefficients(direction);
            for (var i = 0; i < n; i++) slope[i] = basis.ValueAt(dc, i);
            var alpha = LineSearch(residual, slope, weights, delta);
            if (alpha == 0) return Finish(u, iteration, gradientNorm, gradientScale, total);

            var moved = false;
            for (var k = 0; k < m; k++)
            {
                var next = u[k] + alpha * direction[k];
                moved |= next != u[k];
                u[k] = next;
            }
            if (!moved) return Finish(u, iteration, gradientNorm, gradientScale, total);
            Array.Copy(active, previousActive, n);
            Evaluate();
            // On one quadratic piece the full Newton step is exact: the active set unchanged means the optimum is reached.
            if (newton && alpha == 1.0 && active.AsSpan().SequenceEqual(previousActive)) return (u, iteration, gradientNorm / total);
        }
        return Finish(u, MaxIterations, gradientNorm, gradientScale, total);
    }

    /// <summary>Stopped without a vanishing gradient: accept only if it is small (rounding stalls a step), else fail.</summary>
    private static (double[] U, int Iterations, double GradientNorm) Finish(double[] u, int iterations, double gradientNorm, double gradientScale, double total)
    {
        if (gradientNorm <= 1e-8 * gradientScale) return (u, iterations, gradientNorm / total);
        throw new ExactSolverException(FormattableString.Invariant(
            $"Huber: stopped after {iterations} iterations with gradient norm {gradientNorm / total:G3} (scale {gradientScale / total:G3}); no optimum verified"));
    }

    /// <summary>
    /// The α ≥ 0 where φ'(α) = Σ −w_i·ψ(r_i − α·a_i)·a_i turns from negative to ≥ 0. φ' is nondecreasing; 1 (the Newton step)
    /// is taken when the slope there is still ≤ 0 within rounding, else the root is bracketed and found by regula falsi
    /// (Illinois), halving when it stalls.
    /// </summary>
    private static double LineSearch(double[] residual, double[] slope, double[]? weights, double delta)
    {
        double Derivative(double alpha)
        {
            var sum = 0.0;
            if (weights is null)
                for (var i = 0; i < residual.Length; i++) sum -= Math.Clamp(residual[i] - alpha * slope[i], -delta, delta) * slope[i];
            else
                for (var i = 0; i < residual.Length; i++) sum -= Math.Clamp(residual[i] - alpha * slope[i], -delta, delta) * (weights[i] * slope[i]);
            return sum;
        }
        var scale = 0.0;
        for (var i = 0; i < slope.Length; i++) scale += delta * Math.Abs(slope[i]) * (weights?[i] ?? 1.0);
        var tolerance = 1e-14 * scale;
        var low = 0.0;
        var fLow = Derivative(0);
        if (!(fLow < 0)) return 0;
        var high = 1.0;
        var fHigh = Derivative(high);
        if (fHigh <= 0)
        {
            // The Newton step is still descending (only when the active set grows): stretch until the slope turns.
            var stretch = 0;
            while (fHigh < 0 && stretch++ < 60) { (low, fLow) = (high, fHigh); high *= 2; fHigh = Derivative(high); }
            if (fHigh <= 0) return low == 0 ? 1.0 : low;
            if (low == 1.0 && fLow >= -tolerance) return 1.0;
        }
        var side = 0;
        for (var iteration = 0; iteration < 100 && high - low > 1e-15 * high; iteration++)
        {
            var alpha = (low * fHigh - high * fLow) / (fHigh - fLow);
            if (!(alpha > low && alpha < high)) alpha = (low + high) / 2;
            var f = Derivative(alpha);
            if (Math.Abs(f) <= tolerance) return alpha;
            if (f < 0)
            {
                (low, fLow) = (alpha, f);
                if (side == -1) fHigh /= 2;
                side = -1;
            }
            else
            {
                (high, fHigh) = (alpha, f);
                if (side == 1) fLow /= 2;
                side = 1;
            }
        }
        return low > 0 ? low : high;
    }
}
