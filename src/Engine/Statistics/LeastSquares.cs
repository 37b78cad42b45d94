namespace FitService.Engine.Statistics;

/// <summary>
/// The least-squares fit of a polynomial and its inference, exactly as statsmodels reports them for
/// <c>OLS(y, np.vander(x, d+1))</c> (or <c>WLS(…, weights=w)</c>): params, standard errors, t-values, two-sided p-values,
/// 95 % confidence intervals, σ̂, R², adjusted R², log-likelihood, AIC and BIC.
/// </summary>
/// <param name="Params">The least-squares params, highest power first.</param>
/// <param name="StandardErrors">√diag(σ̂²·(XᵀWX)⁻¹), statsmodels' <c>bse</c>.</param>
/// <param name="TValues">Params / standard errors.</param>
/// <param name="PValues">Two-sided p-values of the t-values with <see cref="DegreesOfFreedom"/>.</param>
/// <param name="ConfidenceIntervals">Params ∓ t(0.975, df)·standard error, statsmodels' <c>conf_int(0.05)</c>: [low, high] per param.</param>
/// <param name="Covariance">σ̂²·(XᵀWX)⁻¹, statsmodels' <c>cov_params()</c>.</param>
/// <param name="Sigma">σ̂ = √(SSR/df), the residual standard error (statsmodels' <c>sqrt(scale)</c>).</param>
/// <param name="DegreesOfFreedom">n − (d+1), statsmodels' <c>df_resid</c>.</param>
/// <param name="SumOfSquares">Σ wᵢ rᵢ², statsmodels' <c>ssr</c>.</param>
/// <param name="RSquared">1 − SSR / Σ wᵢ(yᵢ − ȳ_w)², statsmodels' <c>rsquared</c>.</param>
/// <param name="AdjustedRSquared">1 − (n − 1)/df·(1 − R²), statsmodels' <c>rsquared_adj</c>.</param>
/// <param name="LogLikelihood">Gaussian log-likelihood, statsmodels' <c>llf</c>.</param>
/// <param name="Aic">−2·llf + 2·(d+1).</param>
/// <param name="Bic">−2·llf + log(n)·(d+1).</param>
public sealed record LeastSquaresFit(
    double[] Params,
    double[] StandardErrors,
    double[] TValues,
    double[] PValues,
    double[][] ConfidenceIntervals,
    double[][] Covariance,
    double Sigma,
    int DegreesOfFreedom,
    double SumOfSquares,
    double RSquared,
    double AdjustedRSquared,
    double LogLikelihood,
    double Aic,
    double Bic);

/// <summary>Computes <see cref="LeastSquaresFit"/> by Householder QR of the column-scaled (weighted) Vandermonde matrix.</summary>
public static class LeastSquares
{
    /// <summary>The confidence level of <see cref="LeastSquaresFit.ConfidenceIntervals"/>.</summary>
    public const double Confidence = 0.95;

    /// <summary>
    /// The least-squares polynomial of <paramref name="degree"/> through the points, with its inference; null, with
    /// <paramref name="reason"/>, when there is none (fewer points than params plus one, or fewer distinct x than params).
    /// </summary>
    /// <param name="x">The x values.</param>
    /// <param name="y">The y values.</param>
    /// <param name="degree">The polynomial's degree d.</param>
    /// <param name="weights">Non-negative weights (statsmodels WLS), or null for OLS.</param>
    /// <param name="reason">Why there is no fit, when null is returned.</param>
    public static LeastSquaresFit? Fit(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int degree, ReadOnlySpan<double> weights, out string? reason)
    {
        var n = x.Length;
        var p = degree + 1;
        var weighted = !weights.IsEmpty;
        if (n <= p)
        {
            reason = $"the standard errors need more points ({n}) than params ({p})";
            return null;
        }

        // The design, whitened by √w as statsmodels' WLS does, its columns scaled to unit length so the QR sees a balanced
        // matrix; rows are folded into R one at a time (Givens), so memory stays O(p²) for a million points.
        var scale = new double[p];
        var row = new double[p];
        for (var i = 0; i < n; i++)
        {
            DesignRow(x[i], weighted ? weights[i] : 1, row);
            for (var j = 0; j < p; j++) scale[j] = Hypot(scale[j], row[j]);
        }
        for (var j = 0; j < p; j++) scale[j] = scale[j] == 0 ? 1 : scale[j];
        var r = new double[p, p];
        var qtb = new double[p];
        for (var i = 0; i < n; i++)
        {
            var root = DesignRow(x[i], weighted ? weights[i] : 1, row);
            for (var j = 0; j < p; j++) row[j] /= scale[j];
            FoldRow(r, qtb, row, root * y[i], p);
        }

        var largest = 0.0;
        for (var j = 0; j < p; j++) largest = Math.Max(largest, Math.Abs(r[j, j]));
        for (var j = 0; j < p; j++)
        {
            if (!(Math.Abs(r[j, j]) > 1e-13 * largest))
            {
                reason = $"the params are not determined: fewer distinct x values (with weight > 0) than params ({p})";
                return null;
            }
        }

        // β̃ = R⁻¹(Qᵀb); β = β̃ / scale.
        var scaledParams = new double[p];
        for (var j = p - 1; j >= 0; j--)
        {
            var s = qtb[j];
            for (var k = j + 1; k < p; k++) s -= r[j, k] * scaledParams[k];
            scaledParams[j] = s / r[j, j];
        }
        var parameters = new double[p];
        for (var j = 0; j < p; j++) parameters[j] = scaledParams[j] / scale[j];

        // Residuals from the params in powers of x, as statsmodels computes y − X·params.
        double ssr = 0, sumW = 0, sumWy = 0, sumLogW = 0;
        for (var i = 0; i < n; i++)
        {
            var w = weighted ? weights[i] : 1;
            var residual = y[i] - Fitted(parameters, x[i]);
            ssr += w * residual * residual;
            sumW += w;
            sumWy += w * y[i];
            sumLogW += weighted ? Math.Log(w) : 0;
        }
        var meanY = sumWy / sumW;
        var tss = 0.0;
        for (var i = 0; i < n; i++)
        {
            var w = weighted ? weights[i] : 1;
            tss += w * (y[i] - meanY) * (y[i] - meanY);
        }

        var df = n - p;
        var sigma2 = ssr / df;
        // (ÃᵀÃ)⁻¹ = R⁻¹R⁻ᵀ; undo the column scaling on both sides.
        var rInverse = InvertUpper(r, p);
        var covariance = new double[p][];
        for (var i = 0; i < p; i++)
        {
            covariance[i] = new double[p];
            for (var j = 0; j < p; j++)
            {
                var s = 0.0;
                for (var k = Math.Max(i, j); k < p; k++) s += rInverse[i, k] * rInverse[j, k];
                covariance[i][j] = sigma2 * s / (scale[i] * scale[j]);
            }
        }

        var critical = StudentT.Quantile(1 - (1 - Confidence) / 2, df);
        var errors = new double[p];
        var tValues = new double[p];
        var pValues = new double[p];
        var intervals = new double[p][];
        for (var j = 0; j < p; j++)
        {
            errors[j] = Math.Sqrt(covariance[j][j]);
            tValues[j] = parameters[j] / errors[j];
            pValues[j] = StudentT.TwoSidedP(tValues[j], df);
            intervals[j] = [parameters[j] - critical * errors[j], parameters[j] + critical * errors[j]];
        }

        var logLikelihood = GaussianLogLikelihood(n, ssr) + sumLogW / 2;
        var rSquared = 1 - ssr / tss;
        reason = null;
        return new LeastSquaresFit(parameters, errors, tValues, pValues, intervals, covariance, Math.Sqrt(sigma2), df, ssr,
            rSquared, 1 - (double)(n - 1) / df * (1 - rSquared), logLikelihood,
            -2 * logLikelihood + 2 * p, -2 * logLikelihood + Math.Log(n) * p);
    }

    /// <summary>statsmodels' OLS log-likelihood: −n/2·log(2π) − n/2·log(SSR/n) − n/2.</summary>
    public static double GaussianLogLikelihood(int n, double sumOfSquares) =>
        -n / 2.0 * Math.Log(2 * Math.PI) - n / 2.0 * Math.Log(sumOfSquares / n) - n / 2.0;

    /// <summary>p[0]·x^d + … + p[d], summed as the design matrix's columns are (powers of x, not Horner), as statsmodels does.</summary>
    private static double Fitted(double[] parameters, double x)
    {
        var sum = 0.0;
        var power = 1.0;
        for (var j = parameters.Length - 1; j >= 0; j--)
        {
            sum += parameters[j] * power;
            power *= x;
        }
        return sum;
    }

    /// <summary>The row √w·[x^d, …, x, 1] of the whitened design; returns √w.</summary>
    private static double DesignRow(double x, double weight, double[] row)
    {
        var root = Math.Sqrt(weight);
        var power = root;
        for (var j = row.Length - 1; j >= 0; j--)
        {
            row[j] = power;
            power *= x;
        }
        return root;
    }

    /// <summary>Rotates one row (and its right-hand side) into the upper-triangular R and Qᵀb with Givens rotations.</summary>
    private static void FoldRow(double[,] r, double[] qtb, double[] row, double rhs, int p)
    {
        for (var k = 0; k < p; k++)
        {
            if (row[k] == 0) continue;
            var radius = Hypot(r[k, k], row[k]);
            var c = r[k, k] / radius;
            var s = row[k] / radius;
            r[k, k] = radius;
            for (var j = k + 1; j < p; j++)
            {
                var top = r[k, j];
                r[k, j] = c * top + s * row[j];
                row[j] = c * row[j] - s * top;
            }
            var top2 = qtb[k];
            qtb[k] = c * top2 + s * rhs;
            rhs = c * rhs - s * top2;
        }
    }

    private static double[,] InvertUpper(double[,] r, int p)
    {
        var inverse = new double[p, p];
        for (var j = 0; j < p; j++)
        {
            inverse[j, j] = 1 / r[j, j];
            for (var i = j - 1; i >= 0; i--)
            {
                var s = 0.0;
                for (var k = i + 1; k <= j; k++) s += r[i, k] * inverse[k, j];
                inverse[i, j] = -s / r[i, i];
            }
        }
        return inverse;
    }

    /// <summary>√(a² + b²) without overflow for the huge values a Vandermonde column of degree 20 can hold.</summary>
    private static double Hypot(double a, double b)
    {
        a = Math.Abs(a);
        b = Math.Abs(b);
        if (a < b) (a, b) = (b, a);
        if (a == 0) return 0;
        var ratio = b / a;
        return a * Math.Sqrt(1 + ratio * ratio);
    }
}
