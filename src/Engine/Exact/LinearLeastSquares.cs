using System.Globalization;
using FitService.Engine.Networks;

namespace FitService.Engine.Exact;

public static partial class ExactSolver
{
    /// <summary>
    /// Null when an exact solver covers <paramref name="problem"/>'s model and loss (<see cref="Solve"/> for a polynomial with
    /// mae, mse or huber; <see cref="SolveLinear"/> for the <c>linear</c> network with mse); otherwise why not, in a sentence.
    /// </summary>
    public static string? NotApplicable(FitProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (problem.Network is { } network)
        {
            if (network.Type != NetworkType.Linear || network.Hidden.Length > 0)
                return $"the exact solver does not apply to a {network} network: its loss is not a convex function of the params with a closed-form optimum; it applies to model linear with loss mse (linear least squares)";
            return problem.Loss.Kind == LossKind.Mse ? null
                : $"the exact solver applies to model linear only with loss mse (linear least squares), not {problem.Loss.Kind.ToString().ToLowerInvariant()}";
        }
        if (problem.Formula is not null) return "the exact solver does not apply to formula models";
        return problem.Loss.Kind == LossKind.Bce ? "the exact solver covers mae, mse and huber; bce has no closed-form optimum" : null;
    }

    /// <summary>
    /// Linear least squares for the <c>linear</c> network with MSE: the params (weights, then bias, in state_dict order, in the
    /// features as the fit sees them: standardized when <see cref="FitProblem.Standardize"/>) minimising the mean squared error.
    /// Internally every column is centred and scaled to unit population deviation (a constant column only centred), the rows
    /// are folded into a triangle by Householder QR, the triangle solved by QR with column pivoting (minimum norm when
    /// rank-deficient), and the coefficients mapped back.
    /// </summary>
    /// <exception cref="ArgumentException">The problem is invalid.</exception>
    /// <exception cref="ExactSolverException">The solver does not apply (<see cref="NotApplicable"/>) or the optimum overflows.</exception>
    public static ExactOptimum SolveLinear(FitProblem problem, CancellationToken cancellationToken = default)
    {
        FitProblemValidator.ThrowIfInvalid(problem);
        if (problem.Network is null) throw new ExactSolverException("the problem has no network; polynomials are solved by Solve");
        if (NotApplicable(problem) is { } why) throw new ExactSolverException(why);
        var d = problem.Features;
        var n = problem.Points;
        var x = problem.Standardize ? Standardization.Of(problem.X, d).Apply(problem.X) : problem.X;
        var scaling = Standardization.Of(x, d);
        var m = d + 1;
        var scaled = new RowQr(m);
        var raw = new RowQr(m);
        var rawNorms = new double[m];
        for (var i = 0; i < n; i++)
            for (var f = 0; f < d; f++) rawNorms[f] += x[i * d + f] * x[i * d + f];
        rawNorms[d] = n;
        for (var k = 0; k < m; k++) rawNorms[k] = rawNorms[k] > 0 ? Math.Sqrt(rawNorms[k]) : 1.0;
        Span<double> row = stackalloc double[m];
        Span<double> rawRow = stackalloc double[m];
        for (var i = 0; i < n; i++)
        {
            if ((i & 0xFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            for (var f = 0; f < d; f++)
            {
                row[f] = (x[i * d + f] - scaling.Means[f]) / scaling.Scales[f];
                rawRow[f] = x[i * d + f] / rawNorms[f];
            }
            row[d] = 1.0;
            rawRow[d] = 1.0 / rawNorms[d];
            scaled.Add(row, problem.Y[i]);
            raw.Add(rawRow, 0.0);
        }
        var (r, qty) = Split(scaled.R, m);
        var pivoted = new PivotedQr(r);
        var rank = pivoted.Rank;
        var u = pivoted.MinimumNormSolve(qty, rank);
        // Back to the fit's features: w_f = u_f / s_f, b = u_d − Σ u_f·mean_f / s_f.
        var parameters = new double[m];
        var bias = u[d];
        for (var f = 0; f < d; f++)
        {
            parameters[f] = u[f] / scaling.Scales[f];
            bias -= u[f] * scaling.Means[f] / scaling.Scales[f];
        }
        parameters[d] = bias;
        if (!parameters.All(double.IsFinite)) throw new ExactSolverException("the optimum's params overflow a double; scale x and y down");
        var loss = Network.Loss(problem, parameters);
        var scaledCondition = DenseAlgebra.ConditionNumber(r);
        var rawCondition = DenseAlgebra.ConditionNumber(Split(raw.R, m).R);
        var warnings = new List<string>();
        if (rank < m)
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"rank-deficient: the features and the constant have numerical rank {rank} of {m}, so the optimum is not unique; these params are the minimum-norm solution in the centred and scaled features, mapped back."));
        if (rawCondition > IllConditioned)
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"ill-conditioned: the features with a constant column have condition number {rawCondition:0.#e+0}, above {IllConditioned:0e+0}; standardize the features (standardize: true) for descent."));
        return new ExactOptimum(parameters, loss, rawCondition, scaledCondition,
            "linear least squares: features centred and scaled, Householder QR of all rows, then QR with column pivoting of the triangle (minimum-norm solution when rank-deficient), mapped back",
            warnings.Count > 0 ? string.Join(" ", warnings) : null);
    }

    private static (double[,] R, double[] Qty) Split(double[,] triangle, int m)
    {
        var r = new double[m, m];
        var qty = new double[m];
        for (var i = 0; i < m; i++)
        {
            for (var j = i; j < m; j++) r[i, j] = triangle[i, j];
            qty[i] = triangle[i, m];
        }
        return (r, qty);
    }
}
