using System.Globalization;
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
    /// A rough measure of the work of <see cref="Solve"/>, in the units of a descent fit's work (points × steps × params):
    /// the typical number of passes over the points times points × params. MSE: a QR pass costing d+1 rotations a point
    /// and two evaluations; MAE: IRLS rounds plus the usual few dozen simplex steps; Huber: a few dozen Newton steps with their
    /// line searches. For limits and estimates (e.g. the service's <c>Limits:MaxWork</c>), not a bound on every input.
    /// </summary>
    public static double EstimateWork(long points, int parameters, LossKind loss)
    {
        var passes = loss switch
        {
            LossKind.Mse => parameters + 4.0,
            LossKind.Mae => 9.0 * (parameters + 2) + 40,
            _ => 30.0 * (parameters + 6),
        };
        return points * (double)parameters * passes;
    }

    /// <summary>The optimum of a polynomial of <paramref name="degree"/> on the points for <paramref name="loss"/>.</summary>
    /// <exception cref="ExactSolverException">The solver could not verify an optimum (the message says why).</exception>
    public static ExactOptimum Solve(double[] x, double[] y, int degree, LossSpec loss, CancellationToken cancellationToken = default)
    {
        FitProblemValidator.ThrowIfInvalid(new FitProblem(x, y, degree, loss, 1.0, 1));
        if (loss.Kind == LossKind.Bce) throw new ExactSolverException(NotApplicable(new FitProblem(x, y, degree, loss, 1.0, 1))!);
        var m = degree + 1;
        var basis = ScaledBasis.For(x, degree);
        var (r, qty) = Triangle(basis, y);
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
        var start = ReferenceEquals(solveBasis, basis) ? leastSquares : LeastSquaresIn(solveBasis, y);
        switch (loss.Kind)
        {
            case LossKind.Mse:
                u = leastSquares;
                method = "least squares: x centred and scaled to [−1, 1], QR of all points by Givens rotations, then Householder QR with column pivoting " +
                    "of the triangle (minimum-norm solution when rank-deficient), mapped back to powers of x";
                break;
            case LossKind.Mae:
                var (ladU, steps) = LeastAbsoluteDeviations.Solve(solveBasis, y, start, cancellationToken);
                (u, iterations) = (ladU, steps);
                method = $"least absolute deviations: IRLS start, then {steps} simplex steps (Barrodale–Roberts edges, Bland's rule after a degenerate step) " +
                    $"to a vertex interpolating {solveBasis.Size} points, optimal by a checked certificate (multipliers within 1 + {LeastAbsoluteDeviations.MultiplierTolerance:0e+0}, zero duality gap)";
                break;
            default:
                var (huberU, newtonSteps, _) = HuberNewton.Solve(solveBasis, y, loss.HuberDelta, start, cancellationToken);
                (u, iterations) = (huberU, newtonSteps);
                method = string.Create(CultureInfo.InvariantCulture,
                    $"Huber (δ = {loss.HuberDelta}): Newton on the active set with an exact line search, {newtonSteps} iterations, stopped when the gradient vanished to rounding or a full Newton step kept the active set");
                break;
        }
        var parameters = solveBasis.ToPolynomial(u);
        if (!parameters.All(double.IsFinite)) throw Overflow();
        if (parameters.Length < m) parameters = [.. new double[m - parameters.Length], .. parameters];

        var (scaledLoss, gradientNorm) = ScaledLoss(solveBasis, y, u, loss);
        var paramsLoss = Fitter.Evaluate(x, y, degree, loss, parameters);
        if (loss.Kind == LossKind.Mse && !(paramsLoss <= scaledLoss * (1 + 1e-12)))
            (parameters, paramsLoss) = Refine(x, y, degree, loss, basis, parameters, paramsLoss);
        string? precisionWarning = null;
        var value = paramsLoss;
        // The params' own loss stands when it agrees with the scaled basis's to 1e-10 (or to a residual of 1e-13 of |y| a point).
        var rounding = 1e-13 * y.Max(Math.Abs);
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

    /// <summary>The R of all rows of the scaled basis (Givens, one row at a time) and Qᵀy.</summary>
    private static (double[,] R, double[] Qty) Triangle(ScaledBasis basis, double[] y)
    {
        var m = basis.Size;
        var qr = new RowQr(m);
        Span<double> row = stackalloc double[m];
        for (var i = 0; i < y.Length; i++)
        {
            basis.Row(i, row);
            qr.Add(row, y[i]);
        }
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
    internal static double[] LeastSquaresIn(ScaledBasis basis, double[] y)
    {
        var (r, qty) = Triangle(basis, y);
        var pivoted = new PivotedQr(r);
        return pivoted.MinimumNormSolve(qty, pivoted.Rank);
    }

    /// <summary>
    /// The mean loss of coefficients <paramref name="u"/> evaluated in the scaled basis (compensated sum), where an offset of
    /// x costs no digits, and the norm of its gradient with respect to u.
    /// </summary>
    private static (double Loss, double GradientNorm) ScaledLoss(ScaledBasis basis, double[] y, double[] u, LossSpec loss)
    {
        var c = basis.PowerCoefficients(u);
        var m = basis.Size;
        var gradient = new double[m];
        Span<double> row = stackalloc double[m];
        double sum = 0, compensation = 0;
        var delta = loss.HuberDelta;
        for (var i = 0; i < y.Length; i++)
        {
            var r = basis.ValueAt(c, i) - y[i];
            var a = Math.Abs(r);
            var (term, slope) = loss.Kind switch
            {
                LossKind.Mse => (r * r, 2 * r),
                LossKind.Mae => (a, Math.Sign(r)),
                _ => a < delta ? (0.5 * a * a, r) : (delta * (a - 0.5 * delta), delta * Math.Sign(r)),
            };
            var t = sum + term;
            compensation += Math.Abs(sum) >= Math.Abs(term) ? sum - t + term : term - t + sum;
            sum = t;
            basis.Row(i, row);
            for (var k = 0; k < m; k++) gradient[k] += slope * row[k];
        }
        var n = y.Length;
        return ((sum + compensation) / n, Math.Sqrt(gradient.Sum(g => g * g)) / n);
    }

    /// <summary>
    /// Iterative refinement in the engine's own arithmetic: the residuals of the params as Horner evaluates them, solved
    /// again in the scaled basis. Only when the mapped-back params lose to the scaled optimum; keeps the best seen.
    /// </summary>
    private static (double[] Params, double Loss) Refine(double[] x, double[] y, int degree, LossSpec loss, ScaledBasis basis, double[] parameters, double value)
    {
        var residual = new double[y.Length];
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < y.Length; i++) residual[i] = y[i] - Polynomial.Evaluate(parameters, x[i]);
            var correction = basis.ToPolynomial(LeastSquaresIn(basis, residual));
            double[] candidate = [.. parameters.Select((p, k) => p + correction[k])];
            var candidateLoss = Fitter.Evaluate(x, y, degree, loss, candidate);
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
