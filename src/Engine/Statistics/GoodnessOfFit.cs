namespace FitService.Engine.Statistics;

/// <summary>
/// How well a fitted model describes its points, at the params it has (whatever fitted them, with whatever loss).
/// Residuals are rᵢ = yᵢ − f(xᵢ), as statsmodels' <c>resid</c>; with weights every mean is the weighted mean Σwᵢ·…/Σwᵢ.
/// </summary>
/// <param name="RSquared">1 − Σwr² / Σw(y − ȳ_w)²; null when every y is the same (nothing to explain).</param>
/// <param name="Rmse">√(Σwr²/Σw).</param>
/// <param name="Mae">Σw|r|/Σw.</param>
/// <param name="Residuals">Minimum, quartiles and maximum of the residuals (unweighted; linear interpolation, as numpy.percentile).</param>
/// <param name="LogLikelihood">The Gaussian log-likelihood at these params with σ² profiled out: −n/2·(log 2π + log(Σwr²/n) + 1) + ½Σlog w, statsmodels' <c>llf</c> when the params are the least-squares ones.</param>
/// <param name="Aic">−2·llf + 2k, k the number of params.</param>
/// <param name="Bic">−2·llf + log(n)·k.</param>
public sealed record GoodnessOfFit(double? RSquared, double Rmse, double Mae, ResidualQuantiles Residuals, double LogLikelihood, double Aic, double Bic)
{
    /// <summary>The measures for points <paramref name="y"/> and the model's values <paramref name="fitted"/> there.</summary>
    /// <param name="y">The observed values.</param>
    /// <param name="fitted">The model's values at the same x.</param>
    /// <param name="weights">Non-negative weights, or empty for none.</param>
    /// <param name="parameterCount">The model's number of params (k of AIC and BIC).</param>
    public static GoodnessOfFit Of(ReadOnlySpan<double> y, ReadOnlySpan<double> fitted, ReadOnlySpan<double> weights, int parameterCount)
    {
        var n = y.Length;
        var weighted = !weights.IsEmpty;
        var residuals = new double[n];
        double sumW = 0, sumWy = 0, ssr = 0, sumAbs = 0, sumLogW = 0;
        for (var i = 0; i < n; i++)
        {
            var w = weighted ? weights[i] : 1;
            var r = y[i] - fitted[i];
            residuals[i] = r;
            sumW += w;
            sumWy += w * y[i];
            ssr += w * r * r;
            sumAbs += w * Math.Abs(r);
            if (weighted) sumLogW += Math.Log(w);
        }
        var mean = sumWy / sumW;
        var tss = 0.0;
        for (var i = 0; i < n; i++) tss += (weighted ? weights[i] : 1) * (y[i] - mean) * (y[i] - mean);
        Array.Sort(residuals);
        var llf = LeastSquares.GaussianLogLikelihood(n, ssr) + sumLogW / 2;
        return new GoodnessOfFit(
            tss > 0 ? 1 - ssr / tss : null,
            Math.Sqrt(ssr / sumW),
            sumAbs / sumW,
            new ResidualQuantiles(residuals[0], Percentile(residuals, 0.25), Percentile(residuals, 0.5), Percentile(residuals, 0.75), residuals[^1]),
            llf,
            -2 * llf + 2 * parameterCount,
            -2 * llf + Math.Log(n) * parameterCount);
    }

    /// <summary>numpy.percentile's default (linear) on sorted values.</summary>
    public static double Percentile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}

/// <summary>Five-number summary of the residuals.</summary>
/// <param name="Min">Smallest residual.</param>
/// <param name="Q1">25th percentile.</param>
/// <param name="Median">50th percentile.</param>
/// <param name="Q3">75th percentile.</param>
/// <param name="Max">Largest residual.</param>
public sealed record ResidualQuantiles(double Min, double Q1, double Median, double Q3, double Max);
