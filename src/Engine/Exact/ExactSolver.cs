using System.Globalization;
using FitService.Engine.Models;

namespace FitService.Engine.Exact;

/// <summary>The best possible params of a polynomial fit for its loss, computed directly rather than by descent.</summary>
/// <param name="Params">The optimum, highest power first.</param>
/// <param name="Loss">The loss at <paramref name="Params"/>, computed by the engine exactly as a fit's loss is.</param>
/// <param name="ConditionNumber">Condition number of the Vandermonde matrix of x with unit columns (as numpy.polyfit sees it).</param>
/// <param name="ScaledConditionNumber">The same after x is centred and scaled to [−1, 1], the basis the solver works in.</param>
/// <param name="Method">How the optimum was computed and to what tolerance.</param>
/// <param name="Warning">Set when the problem is too ill-conditioned for its params to be trusted, with the fix.</param>
public sealed record ExactOptimum(double[] Params, double Loss, double ConditionNumber, double ScaledConditionNumber, string Method, string? Warning);

/// <summary>
/// Exact optima: least squares for MSE (QR), least absolute deviations for MAE (IRLS, then simplex steps to an
/// optimal vertex whose optimality is verified), and the convex Huber optimum (Newton on the active set).
/// All work in the basis of <see cref="ScaledBasis"/> and map the coefficients back to powers of x.
/// </summary>
public static class ExactSolver
{
    /// <summary>Above this condition number (of the Vandermonde matrix of x with unit columns) a warning is given.</summary>
    public const double IllConditioned = 1e12;

    /// <summary>The optimum of a polynomial of <paramref name="degree"/> on the points for <paramref name="loss"/>.</summary>
    /// <exception cref="ExactSolverException">Fewer distinct x values than params, or the solver could not finish.</exception>
    public static ExactOptimum Solve(double[] x, double[] y, int degree, LossSpec loss, CancellationToken cancellationToken = default)
    {
        FitProblemValidator.ThrowIfInvalid(new FitProblem(x, y, degree, loss, 1.0, 1));
        var basis = ScaledBasis.For(x, degree);
        var ls = LeastSquares(basis, y, null, out var r);
        // y near ±1.7e308 (or powers of a wide x) can put the optimum beyond the doubles: no params to report.
        if (!ls.All(double.IsFinite)) throw Overflow();
        var scaledCondition = DenseAlgebra.ConditionNumber(Triangle(r, basis.Size));
        var rawCondition = basis.RawConditionNumber(r);

        var (u, method) = loss.Kind switch
        {
            LossKind.Mse => (ls, "least squares by QR (Givens) in powers of x' = (x − c)/s, refined twice on the residuals"),
            LossKind.Mae => LeastAbsoluteDeviations.Solve(basis, y, ls, cancellationToken),
            _ => HuberNewton.Solve(basis, y, loss.HuberDelta, ls, cancellationToken),
        };
        var parameters = basis.ToPolynomial(u);
        if (loss.Kind == LossKind.Mse) parameters = Refine(basis, y, parameters, 2);
        if (!parameters.All(double.IsFinite)) throw Overflow();
        var value = Fitter.Evaluate(x, y, degree, loss, parameters);
        return new ExactOptimum(parameters, value, rawCondition, scaledCondition, method, Warning(basis, rawCondition, scaledCondition));
    }

    private static ExactSolverException Overflow() =>
        new("the optimum's params overflow a double (y or x are too large for this degree); scale y and x down");

    /// <summary>The weighted least-squares solution in the scaled basis; <paramref name="r"/> is its triangle.</summary>
    internal static double[] LeastSquares(ScaledBasis basis, double[] y, double[]? weights, out double[,] r)
    {
        var qr = new RowQr(basis.Size);
        Span<double> row = stackalloc double[basis.Size];
        for (var i = 0; i < y.Length; i++)
        {
            basis.Powers(basis.X[i], row);
            qr.Add(row, y[i], weights?[i] ?? 1.0);
        }
        r = qr.R;
        return qr.Solve();
    }

    /// <summary>Iterative refinement in the engine's own arithmetic: the residuals of the params as Horner evaluates them, solved again.</summary>
    private static double[] Refine(ScaledBasis basis, double[] y, double[] parameters, int rounds)
    {
        for (var round = 0; round < rounds; round++)
        {
            var residual = new double[y.Length];
            for (var i = 0; i < y.Length; i++) residual[i] = y[i] - Polynomial.Evaluate(parameters, basis.X[i]);
            var correction = basis.ToPolynomial(LeastSquares(basis, residual, null, out _));
            parameters = [.. parameters.Select((p, k) => p + correction[k])];
        }
        return parameters;
    }

    private static double[,] Triangle(double[,] r, int size)
    {
        var t = new double[size, size];
        for (var i = 0; i < size; i++) for (var j = i; j < size; j++) t[i, j] = r[i, j];
        return t;
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
