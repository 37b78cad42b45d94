using System.Globalization;
using FitService.Engine.Exact;
using FitService.Engine.Models;

// The oracle: src/Engine/Exact as of commit f3490bf (before the tiny-problem path), kept verbatim but for this namespace,
// the ExactOptimum record and ExactSolverException (the engine's own, so answers compare as they are), the linear solver
// and the work estimate. The differential tests (ExactIdentityTests) and the bench (TinyExact) hold today's solver
// against it bit for bit; do not "fix" it.
namespace FitService.Engine.Tests.Oracle;

/// <summary>
/// Exact optima: least squares for MSE (QR with column pivoting, minimum norm when rank-deficient), least absolute
/// deviations for MAE (simplex with a dual certificate) and the convex Huber optimum (Newton with an exact line search).
/// All work in the basis of <see cref="ScaledBasis"/> (x centred and scaled to [−1, 1]) and map the coefficients back
/// to powers of x at the end.
/// </summary>
internal static class ExactSolver
{
    /// <summary>Above this condition number (of the Vandermonde matrix of x with unit columns) a warning is given.</summary>
    public const double IllConditioned = 1e12;

    /// <summary>The optimum of a polynomial of <paramref name="degree"/> on the points for <paramref name="loss"/>.</summary>
    /// <exception cref="ExactSolverException">The solver could not verify an optimum (the message says why).</exception>
    public static ExactOptimum Solve(double[] x, double[] y, int degree, LossSpec loss, CancellationToken cancellationToken = default) =>
        Solve(x, y, null, degree, loss, cancellationToken);

    /// <summary>
    /// The optimum of a polynomial of <paramref name="degree"/> for the weighted mean loss Σ wᵢ·ℓ(rᵢ) / Σ wᵢ: MSE by least
    /// squares of the rows scaled by √wᵢ, MAE by least absolute deviations with costs wᵢ (rows scaled by wᵢ), Huber by
    /// Newton on Σ wᵢ·h(rᵢ). Points of weight 0 are ignored (as if absent). Null weights are all 1: the plain mean loss.
    /// </summary>
    /// <param name="x">The points' x.</param>
    /// <param name="y">The points' y.</param>
    /// <param name="weights">A finite weight ≥ 0 per point, at least one of them > 0; null for equal weights.</param>
    /// <param name="degree">The polynomial's degree.</param>
    /// <param name="loss">The loss.</param>
    /// <param name="cancellationToken">Stops the solve.</param>
    /// <exception cref="ArgumentException">The weights are not one finite value ≥ 0 per point with a positive sum.</exception>
    /// <exception cref="ExactSolverException">The solver could not verify an optimum (the message says why).</exception>
    public static ExactOptimum Solve(double[] x, double[] y, double[]? weights, int degree, LossSpec loss, CancellationToken cancellationToken = default)
    {
        FitProblemValidator.ThrowIfInvalid(new FitProblem(x, y, degree, loss, 1.0, 1));
        if (loss.Kind == LossKind.Bce) throw new ExactSolverException(FitService.Engine.Exact.ExactSolver.NotApplicable(new FitProblem(x, y, degree, loss, 1.0, 1))!);
        if (weights is not null) (x, y, weights) = Weighted(x, y, weights);
        var m = degree + 1;
        var basis = ScaledBasis.For(x, degree);
        var (r, qty) = Triangle(basis, y, weights);
        var pivoted = new PivotedQr(r);
        var rank = pivoted.Rank;
        var scaledCondition = DenseAlgebra.ConditionNumber(r);
        var rawCondition = basis.RawConditionNumber(r);
        var leastSquares = pivoted.MinimumNormSolve(qty, rank);
        // y near ±1.7e308 (or powers of a wide x) can put the optimum beyond the doubles: no params to report.
        if (!leastSquares.All(double.IsFinite)) throw Overflow();

        string? rankWarning = null;
        double[] u;
        int? iterations = null;
        string method;
        var solveBasis = basis;
        if (rank < m)
        {
            var distinct = basis.DistinctX(m);
            rankWarning = distinct < m
                ? $"rank-deficient: degree {degree} needs {m} distinct x values and there are {distinct}, so the optimum is not unique; "
                : $"rank-deficient: the scaled basis has numerical rank {rank} of {m} (relative tolerance {PivotedQr.RankTolerance:0e+0}), so the optimum is not unique; ";
            rankWarning += loss.Kind == LossKind.Mse
                ? "these params are the minimum-norm solution in the scaled basis (unit columns of powers of (x − c)/s), mapped back to powers of x."
                : $"these params are the optimum of degree {rank - 1} (the leading params are 0), which fits the data as well as any.";
            if (loss.Kind != LossKind.Mse) solveBasis = ScaledBasis.For(x, rank - 1);
        }
        var start = ReferenceEquals(solveBasis, basis) ? leastSquares : LeastSquaresIn(solveBasis, y, weights);
        switch (loss.Kind)
        {
            case LossKind.Mse:
                u = leastSquares;
                method = "least squares: x centred and scaled to [−1, 1], QR of all points by Householder reflections in blocks of 128 rows, then Householder QR with column pivoting " +
                    "of the triangle (minimum-norm solution when rank-deficient), mapped back to powers of x";
                break;
            case LossKind.Mae:
                // Σ wᵢ|rᵢ| is the plain LAD of the rows and y scaled by wᵢ.
                var (ladU, steps) = weights is null
                    ? LeastAbsoluteDeviations.Solve(solveBasis, y, start, cancellationToken)
                    : LeastAbsoluteDeviations.Solve(solveBasis.WithRowScale(weights), [.. y.Select((v, i) => v * weights[i])], start, cancellationToken);
                (u, iterations) = (ladU, steps);
                method = $"least absolute deviations: IRLS start, then {steps} simplex steps (Barrodale–Roberts edges, Bland's rule after a degenerate step) " +
                    $"to a vertex interpolating {solveBasis.Size} points, optimal by a checked certificate (multipliers within 1 + {LeastAbsoluteDeviations.MultiplierTolerance:0e+0}, zero duality gap)";
                break;
            default:
                var (huberU, newtonSteps, _) = HuberNewton.Solve(solveBasis, y, weights, loss.HuberDelta, start, cancellationToken);
                (u, iterations) = (huberU, newtonSteps);
                method = string.Create(CultureInfo.InvariantCulture,
                    $"Huber (δ = {loss.HuberDelta}): Newton on the active set with an exact line search, {newtonSteps} iterations, stopped when the gradient vanished to rounding or a full Newton step kept the active set");
                break;
        }
        var parameters = solveBasis.ToPolynomial(u);
        // The engine's fix of 2026-12-01 (a power of a huge centre or half-width overflowing where the params do not).
        if (!parameters.All(double.IsFinite)) parameters = solveBasis.ToPolynomialStepwise(u);
        if (!parameters.All(double.IsFinite)) throw Overflow();
        if (parameters.Length < m) parameters = [.. new double[m - parameters.Length], .. parameters];

        var (scaledLoss, gradientNorm) = ScaledLoss(solveBasis, y, weights, u, loss);
        var paramsLoss = Evaluate(x, y, weights, degree, loss, parameters);
        if (loss.Kind == LossKind.Mse && !(paramsLoss <= scaledLoss * (1 + 1e-12)))
            (parameters, paramsLoss) = Refine(x, y, weights, degree, loss, basis, parameters, paramsLoss);
        string? precisionWarning = null;
        var value = paramsLoss;
        // The params' own loss stands when it agrees with the scaled basis's to 1e-10 (or to a residual of 1e-13 of |y| a point).
        var largest = 0.0;
        foreach (var v in y) largest = Math.Max(largest, Math.Abs(v));
        var rounding = 1e-13 * largest;
        var agreement = 1e-10 * scaledLoss + loss.Kind switch { LossKind.Mse => rounding * rounding, LossKind.Mae => rounding, _ => 0.5 * rounding * rounding };
        if (!(Math.Abs(paramsLoss - scaledLoss) <= agreement))
        {
            value = scaledLoss;
            precisionWarning = string.Create(CultureInfo.InvariantCulture,
                $"params lose precision: written in powers of x (centre {basis.Centre:G6}, half-width {basis.HalfWidth:G6}) and evaluated in double " +
                $"they give loss {paramsLoss:G6}; the optimum itself, evaluated in the scaled basis, is {scaledLoss:G6}, the loss reported. " +
                $"Fit in x' = (x − {basis.Centre:G6})/{basis.HalfWidth:G6} to use the params at full precision.");
        }
        var warning = string.Join(" ", new[] { rankWarning, precisionWarning, Warning(basis, rawCondition, scaledCondition) }.Where(w => w is not null));
        return new ExactOptimum(parameters, value, rawCondition, scaledCondition, method, warning.Length > 0 ? warning : null,
            iterations, loss.Kind == LossKind.Mae ? null : gradientNorm);
    }

    private static ExactSolverException Overflow() =>
        new("the optimum's params overflow a double (y or x are too large for this degree); scale y and x down");

    /// <summary>
    /// The points of positive weight (zero weights are ignored), after checking the weights: one finite value ≥ 0 a point,
    /// not all 0.
    /// </summary>
    private static (double[] X, double[] Y, double[] Weights) Weighted(double[] x, double[] y, double[] weights)
    {
        if (weights.Length != x.Length)
            throw new ArgumentException($"weights: length {weights.Length} differs from x ({x.Length})", nameof(weights));
        if (!weights.All(w => double.IsFinite(w) && w >= 0))
            throw new ArgumentException("weights: every weight must be finite and ≥ 0", nameof(weights));
        if (!weights.Any(w => w > 0)) throw new ArgumentException("weights: at least one weight must be > 0", nameof(weights));
        if (weights.All(w => w > 0)) return (x, y, weights);
        var kept = Enumerable.Range(0, x.Length).Where(i => weights[i] > 0).ToArray();
        return ([.. kept.Select(i => x[i])], [.. kept.Select(i => y[i])], [.. kept.Select(i => weights[i])]);
    }

    /// <summary>
    /// The weighted mean loss of <paramref name="parameters"/> as a fit computes it (Horner's rule in powers of x); with
    /// null weights exactly a fit's own loss.
    /// </summary>
    private static double Evaluate(double[] x, double[] y, double[]? weights, int degree, LossSpec loss, double[] parameters)
    {
        // The fit's own kernel, on one thread: its chunk sums are added in chunk order, so the bits are those of a fit on
        // any number of threads, without a second thread's cost for one pass (x and y were checked on entry).
        if (weights is null) return Fitter.Compile(new FitProblem(x, y, degree, loss, 1.0, 1), maxDegreeOfParallelism: 1).Forward(parameters);
        double sum = 0, compensation = 0;
        for (var i = 0; i < x.Length; i++)
        {
            var term = weights[i] * Term(Polynomial.Evaluate(parameters, x[i]) - y[i], loss).Value;
            var t = sum + term;
            compensation += Math.Abs(sum) >= Math.Abs(term) ? sum - t + term : term - t + sum;
            sum = t;
        }
        return (sum + compensation) / weights.Sum();
    }

    /// <summary>ℓ(r) and its slope dℓ/dr.</summary>
    private static (double Value, double Slope) Term(double r, LossSpec loss)
    {
        var a = Math.Abs(r);
        var delta = loss.HuberDelta;
        return loss.Kind switch
        {
            LossKind.Mse => (r * r, 2 * r),
            LossKind.Mae => (a, Math.Sign(r)),
            _ => a < delta ? (0.5 * a * a, r) : (delta * (a - 0.5 * delta), delta * Math.Sign(r)),
        };
    }

    /// <summary>The R of all rows of the scaled basis (scaled by √w when weighted; Householder over blocks of rows) and Qᵀy.</summary>
    private static (double[,] R, double[] Qty) Triangle(ScaledBasis basis, double[] y, double[]? weights = null)
    {
        var m = basis.Size;
        var qr = new RowQr(m);
        qr.AddAll(basis, y, weights);
        var r = new double[m, m];
        var qty = new double[m];
        for (var i = 0; i < m; i++)
        {
            for (var j = i; j < m; j++) r[i, j] = qr.R[i, j];
            qty[i] = qr.R[i, m];
        }
        return (r, qty);
    }

    /// <summary>The (minimum-norm) least-squares coefficients in <paramref name="basis"/>.</summary>
    internal static double[] LeastSquaresIn(ScaledBasis basis, double[] y, double[]? weights = null)
    {
        var (r, qty) = Triangle(basis, y, weights);
        var pivoted = new PivotedQr(r);
        return pivoted.MinimumNormSolve(qty, pivoted.Rank);
    }

    /// <summary>
    /// The mean loss of coefficients <paramref name="u"/> evaluated in the scaled basis (compensated sum), where an offset of
    /// x costs no digits, and the norm of its gradient with respect to u (weighted means when weights are given).
    /// </summary>
    private static (double Loss, double GradientNorm) ScaledLoss(ScaledBasis basis, double[] y, double[]? weights, double[] u, LossSpec loss)
    {
        var c = basis.PowerCoefficients(u);
        var m = basis.Size;
        // Σ slope·t^k, in plain powers of t: the column scale is applied once at the end rather than per point.
        Span<double> gradient = stackalloc double[m];
        gradient.Clear();
        double sum = 0, compensation = 0;
        for (var i = 0; i < y.Length; i++)
        {
            var ti = basis.TAt(i);
            var value = c[m - 1];
            for (var k = m - 2; k >= 0; k--) value = value * ti + c[k];
            var (term, slope) = Term(value - y[i], loss);
            if (weights is not null) (term, slope) = (weights[i] * term, weights[i] * slope);
            var next = sum + term;
            compensation += Math.Abs(sum) >= Math.Abs(term) ? sum - next + term : term - next + sum;
            sum = next;
            var power = slope;
            for (var k = 0; k < m; k++)
            {
                gradient[k] += power;
                power *= ti;
            }
        }
        var squares = 0.0;
        for (var k = 0; k < m; k++) squares += gradient[k] * basis.ColumnScale[k] * (gradient[k] * basis.ColumnScale[k]);
        var n = weights?.Sum() ?? y.Length;
        return ((sum + compensation) / n, Math.Sqrt(squares) / n);
    }

    /// <summary>
    /// Iterative refinement in the engine's own arithmetic: the residuals of the params as Horner evaluates them, solved
    /// again in the scaled basis. Only when the mapped-back params lose to the scaled optimum; keeps the best seen.
    /// </summary>
    private static (double[] Params, double Loss) Refine(double[] x, double[] y, double[]? weights, int degree, LossSpec loss, ScaledBasis basis, double[] parameters, double value)
    {
        var residual = new double[y.Length];
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < y.Length; i++) residual[i] = y[i] - Polynomial.Evaluate(parameters, x[i]);
            var correction = basis.ToPolynomial(LeastSquaresIn(basis, residual, weights));
            double[] candidate = [.. parameters.Select((p, k) => p + correction[k])];
            var candidateLoss = Evaluate(x, y, weights, degree, loss, candidate);
            if (!(candidateLoss < value)) break;
            (parameters, value) = (candidate, candidateLoss);
        }
        return (parameters, value);
    }

    private static string? Warning(ScaledBasis basis, double raw, double scaled)
    {
        if (raw <= IllConditioned) return null;
        var c = basis.Centre.ToString("G6", CultureInfo.InvariantCulture);
        var s = basis.HalfWidth.ToString("G6", CultureInfo.InvariantCulture);
        var shift = basis.Centre == 0 ? "x" : basis.Centre > 0 ? $"(x − {c})" : $"(x + {(-basis.Centre).ToString("G6", CultureInfo.InvariantCulture)})";
        return string.Create(CultureInfo.InvariantCulture,
            $"ill-conditioned: the Vandermonde matrix of x has condition number {raw:0.#e+0}, above {IllConditioned:0e+0}, " +
            $"so rounding alone can cost the params {Math.Min(16, Math.Log10(raw)):0} of their 16 digits, and gradient descent on them barely moves the small coefficients. " +
            $"Centre and scale x to [-1, 1] (x' = {shift}/{s}): the condition number drops to {scaled:0.#e+0}.");
    }
}
