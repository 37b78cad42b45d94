using System.Globalization;
using FitService.Engine.Autodiff;
using FitService.Engine.Models;

namespace FitService.Engine.Exact;

/// <summary>The best possible params of a polynomial fit for its loss, computed directly rather than by descent.</summary>
/// <param name="Params">The optimum, highest power first (the raw basis, powers of x). Where x sits far from 0 relative
/// to its spread these cannot carry every digit of the optimum: see <paramref name="Loss"/> and <paramref name="Warning"/>.</param>
/// <param name="Loss">The optimal loss. It is the loss of <paramref name="Params"/> computed exactly as a fit's loss is,
/// unless that value differs from the loss of the same optimum evaluated in the solver's scaled basis by more than 1e-10
/// relative (params at a large offset of x lose digits when written in powers of x, and Horner's rule in double then errs
/// either way); then it is the scaled-basis value, the true optimum to rounding, and <paramref name="Warning"/> says so
/// and gives the params' own loss.</param>
/// <param name="ConditionNumber">Condition number of the Vandermonde matrix of x with unit columns (as numpy.polyfit sees it).</param>
/// <param name="ScaledConditionNumber">The same after x is centred and scaled to [−1, 1], the basis the solver works in.</param>
/// <param name="Method">How the optimum was computed and to what tolerance.</param>
/// <param name="Warning">Set when the problem is ill-conditioned, rank-deficient, or its params lose digits, with the fix or the meaning.</param>
/// <param name="Iterations">Iterations of an iterative solver: simplex steps for MAE, Newton steps for Huber; null for MSE (direct).</param>
/// <param name="GradientNorm">Euclidean norm of the gradient of the mean loss at the optimum, with respect to the coefficients of
/// the scaled basis (unit columns of powers of (x − c)/s), for MSE and Huber; null for MAE, whose optimum is certified by its
/// multipliers instead (the loss is not differentiable there).</param>
public sealed record ExactOptimum(
    double[] Params,
    double Loss,
    double ConditionNumber,
    double ScaledConditionNumber,
    string Method,
    string? Warning,
    int? Iterations = null,
    double? GradientNorm = null);

/// <summary>
/// Exact optima: least squares for MSE (QR with column pivoting, minimum norm when rank-deficient), least absolute
/// deviations for MAE (simplex with a dual certificate) and the convex Huber optimum (Newton with an exact line search).
/// All work in the basis of <see cref="ScaledBasis"/> (x centred and scaled to [−1, 1]) and map the coefficients back
/// to powers of x at the end.
/// </summary>
public static partial class ExactSolver
{
    /// <summary>Above this condition number (of the Vandermonde matrix of x with unit columns) a warning is given.</summary>
    public const double IllConditioned = 1e12;

    /// <summary>
    /// The one estimate of the work of <see cref="Solve(double[], double[], double[], int, LossSpec, CancellationToken)"/>, in
    /// the units of a descent fit's work (points × steps × params, about a nanosecond each here), generous rather than
    /// typical: with n points and m params, MSE is QR at n·m² a pass, three passes with the refinement; MAE adds 30 IRLS
    /// passes of n·m² and 1000 + 20m simplex steps of 2·n·m; Huber 500 Newton passes of n·m². The service charges it
    /// against <c>Limits:MaxWork</c> and compares it with the descent's work (the optimum is computed beside a descent
    /// only when it costs under a fifth of it). The bench (<c>bench/Engine.Bench -- exact</c>) measures 10–100× less on
    /// typical data; it is an estimate, not a bound on every input (the solvers' own iteration caps are that).
    /// </summary>
    public static double EstimateWork(double points, int parameters, LossKind loss)
    {
        var n = points;
        var m = (double)parameters;
        return loss switch
        {
            LossKind.Mse => 3 * n * m * m,
            LossKind.Mae => 30 * n * m * m + 2 * (1000 + 20 * m) * n * m,
            _ => 500 * n * m * m,
        };
    }

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
        if (loss.Kind == LossKind.Bce) throw new ExactSolverException(NotApplicable(new FitProblem(x, y, degree, loss, 1.0, 1))!);
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
        if (!AllFinite(leastSquares)) throw Overflow();

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
                    : LeastAbsoluteDeviations.Solve(solveBasis.WithRowScale(weights), Scaled(y, weights), start, cancellationToken);
                (u, iterations) = (ladU, steps);
                method = $"least absolute deviations: IRLS start, then {steps} simplex steps (Barrodale–Roberts edges, Bland's rule after a degenerate step) " +
                    $"to a vertex interpolating {solveBasis.Size} points, optimal by a checked certificate (multipliers within 1 + {MultiplierTolerance}, zero duality gap)";
                break;
            default:
                var (huberU, newtonSteps, _) = HuberNewton.Solve(solveBasis, y, weights, loss.HuberDelta, start, cancellationToken);
                (u, iterations) = (huberU, newtonSteps);
                method = string.Create(CultureInfo.InvariantCulture,
                    $"Huber (δ = {loss.HuberDelta}): Newton on the active set with an exact line search, {newtonSteps} iterations, stopped when the gradient vanished to rounding or a full Newton step kept the active set");
                break;
        }
        var parameters = solveBasis.ToPolynomial(u);
        // A power of a huge centre or half-width can overflow where the params themselves do not.
        if (!AllFinite(parameters)) parameters = solveBasis.ToPolynomialStepwise(u);
        if (!AllFinite(parameters)) throw Overflow();
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
        var warning = Joined(Joined(rankWarning, precisionWarning), Warning(basis, rawCondition, scaledCondition));
        return new ExactOptimum(parameters, value, rawCondition, scaledCondition, method, warning,
            iterations, loss.Kind == LossKind.Mae ? null : gradientNorm);
    }

    /// <summary>The LAD certificate's tolerance as the method names it, formatted once (the invariant culture is the only one here).</summary>
    private static readonly string MultiplierTolerance = LeastAbsoluteDeviations.MultiplierTolerance.ToString("0e+0", CultureInfo.InvariantCulture);

    private static bool AllFinite(ReadOnlySpan<double> values)
    {
        foreach (var v in values) if (!double.IsFinite(v)) return false;
        return true;
    }

    /// <summary>y_i·w_i: the right-hand side of the weighted LAD.</summary>
    private static double[] Scaled(double[] y, double[] weights)
    {
        var scaled = new double[y.Length];
        for (var i = 0; i < y.Length; i++) scaled[i] = y[i] * weights[i];
        return scaled;
    }

    /// <summary>The warnings given, separated by a space; null when neither is.</summary>
    private static string? Joined(string? first, string? second) => first is null ? second : second is null ? first : first + " " + second;

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
        if (weights is null)
            return x.Length < FusedKernel.ChunkedFrom ? FitLoss(x, y, loss, parameters)
                : Fitter.Compile(new FitProblem(x, y, degree, loss, 1.0, 1), maxDegreeOfParallelism: 1).Forward(parameters);
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

    /// <summary>
    /// A fit's own loss of <paramref name="parameters"/> below <see cref="FusedKernel.ChunkedFrom"/> points, computed as its
    /// compiled kernel computes it, without compiling one: Horner's rule, the residual prediction − y, the loss term (MAE |r|,
    /// MSE r·r, Huber ½·(|r|·|r|) below δ, else δ·(|r| − ½δ)), added into four lanes (point i into lane i mod 4, in point
    /// order), the lanes added as (0 + 1) + (2 + 3), divided by the count. The same operations in the same order as the
    /// kernel's 4-wide vectors (no fused multiply-add either way), so the same bits; ExactIdentityTests hold it to the kernel.
    /// </summary>
    internal static double FitLoss(double[] x, double[] y, LossSpec loss, ReadOnlySpan<double> parameters)
    {
        double lane0 = 0, lane1 = 0, lane2 = 0, lane3 = 0;
        var delta = loss.HuberDelta;
        var halfDelta = 0.5 * delta;
        for (var i = 0; i < x.Length; i++)
        {
            var r = Polynomial.Evaluate(parameters, x[i]) - y[i];
            var term = loss.Kind switch
            {
                LossKind.Mae => Math.Abs(r),
                LossKind.Mse => r * r,
                _ => Math.Abs(r) < delta ? 0.5 * (Math.Abs(r) * Math.Abs(r)) : delta * (Math.Abs(r) - halfDelta),
            };
            switch (i & 3)
            {
                case 0: lane0 += term; break;
                case 1: lane1 += term; break;
                case 2: lane2 += term; break;
                default: lane3 += term; break;
            }
        }
        return ((lane0 + lane1) + (lane2 + lane3)) / x.Length;
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
        var qr = new RowQr(m, y.Length);
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
