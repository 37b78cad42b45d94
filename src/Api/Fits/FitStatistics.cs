using FitService.Engine.Models;
using FitService.Engine.Statistics;

namespace FitService.Api.Fits;

/// <summary>
/// Goodness of fit of a succeeded fit at its own params, and for a polynomial with loss mse the least-squares inference
/// exactly as statsmodels OLS reports it. Non-finite values are null.
/// </summary>
/// <param name="Points">Number of points n.</param>
/// <param name="ParamCount">Number of params k (AIC and BIC count them).</param>
/// <param name="RSquared">1 − Σr²/Σ(y − ȳ)² at the fit's params, r = y − f(x); null when every y is the same.</param>
/// <param name="Rmse">√(mean r²) at the fit's params.</param>
/// <param name="Mae">mean |r| at the fit's params.</param>
/// <param name="Residuals">Minimum, quartiles (numpy.percentile, linear) and maximum of the residuals r = y − f(x).</param>
/// <param name="LogLikelihood">Gaussian log-likelihood at the fit's params, σ² profiled out: −n/2·(log 2π + log(Σr²/n) + 1).</param>
/// <param name="Aic">−2·logLikelihood + 2k.</param>
/// <param name="Bic">−2·logLikelihood + log(n)·k.</param>
/// <param name="LeastSquares">For a polynomial fitted with loss mse: statsmodels OLS on the same points; null otherwise.</param>
/// <param name="LeastSquaresError">Why <c>leastSquares</c> is null for an mse polynomial (e.g. no more points than params).</param>
public sealed record FitStatistics(
    int Points,
    int ParamCount,
    double? RSquared,
    double? Rmse,
    double? Mae,
    ResidualSummary Residuals,
    double? LogLikelihood,
    double? Aic,
    double? Bic,
    LeastSquaresStatistics? LeastSquares,
    string? LeastSquaresError);

/// <summary>Five-number summary of the residuals r = y − f(x).</summary>
public sealed record ResidualSummary(double? Min, double? Q1, double? Median, double? Q3, double? Max);

/// <summary>
/// <c>statsmodels.api.OLS(y, numpy.vander(x, degree + 1)).fit()</c>: computed at the least-squares optimum, whatever params the
/// descent reached, so the figures are those of the estimator and equal statsmodels' (to ~1e-12 relative). The fit's own params
/// are <c>maxDeviation</c> standard errors from the optimum at most; when that is well below 1 the intervals describe them too.
/// </summary>
/// <param name="Params">The least-squares params, highest power first (statsmodels' <c>params</c>).</param>
/// <param name="StandardErrors">√diag(σ̂²·(XᵀX)⁻¹) (<c>bse</c>).</param>
/// <param name="TValues">params / standardErrors (<c>tvalues</c>).</param>
/// <param name="PValues">Two-sided p-values of the t-values (<c>pvalues</c>).</param>
/// <param name="ConfidenceIntervals">[low, high] per param at <c>confidenceLevel</c>, params ∓ t(0.975, df)·standardError (<c>conf_int(0.05)</c>).</param>
/// <param name="ConfidenceLevel">0.95.</param>
/// <param name="Sigma">σ̂ = √(SSR/df), the residual standard error (√<c>scale</c>).</param>
/// <param name="DegreesOfFreedom">n − k (<c>df_resid</c>).</param>
/// <param name="RSquared">statsmodels' <c>rsquared</c>.</param>
/// <param name="AdjustedRSquared">statsmodels' <c>rsquared_adj</c>.</param>
/// <param name="LogLikelihood">statsmodels' <c>llf</c>.</param>
/// <param name="Aic">statsmodels' <c>aic</c>.</param>
/// <param name="Bic">statsmodels' <c>bic</c>.</param>
/// <param name="MaxDeviation">max over the params of |fit param − least-squares param| / standard error: 0 for solver exact, small once a descent has converged.</param>
public sealed record LeastSquaresStatistics(
    double?[] Params,
    double?[] StandardErrors,
    double?[] TValues,
    double?[] PValues,
    double?[][] ConfidenceIntervals,
    double ConfidenceLevel,
    double? Sigma,
    int DegreesOfFreedom,
    double? RSquared,
    double? AdjustedRSquared,
    double? LogLikelihood,
    double? Aic,
    double? Bic,
    double? MaxDeviation);

/// <summary>Computes <see cref="FitStatistics"/> with the engine (src/Engine/Statistics).</summary>
public static class FitStatisticsCalculator
{
    /// <summary>The statistics of a fit with <paramref name="parameters"/> on its points.</summary>
    public static FitStatistics Compute(FitSpec spec, double[] x, double[] y, double[] parameters)
    {
        var formula = FitValidator.FormulaOf(spec);
        var fitted = new double[x.Length];
        for (var i = 0; i < x.Length; i++) fitted[i] = formula?.Evaluate(parameters, x[i]) ?? Polynomial.Evaluate(parameters, x[i]);
        var goodness = GoodnessOfFit.Of(y, fitted, default, parameters.Length);

        LeastSquaresStatistics? leastSquares = null;
        string? reason = null;
        if (formula is null && spec.Loss == "mse" && spec.Degree is { } degree)
        {
            var ols = LeastSquares.Fit(x, y, degree, default, out reason);
            if (ols is not null) leastSquares = ToDto(ols, parameters);
        }
        var r = goodness.Residuals;
        return new FitStatistics(x.Length, parameters.Length, F(goodness.RSquared), F(goodness.Rmse), F(goodness.Mae),
            new ResidualSummary(F(r.Min), F(r.Q1), F(r.Median), F(r.Q3), F(r.Max)),
            F(goodness.LogLikelihood), F(goodness.Aic), F(goodness.Bic), leastSquares, reason);
    }

    private static LeastSquaresStatistics ToDto(LeastSquaresFit ols, double[] fitParams)
    {
        var deviation = 0.0;
        for (var j = 0; j < ols.Params.Length; j++) deviation = Math.Max(deviation, Math.Abs(fitParams[j] - ols.Params[j]) / ols.StandardErrors[j]);
        return new LeastSquaresStatistics(
            Fs(ols.Params), Fs(ols.StandardErrors), Fs(ols.TValues), Fs(ols.PValues), [.. ols.ConfidenceIntervals.Select(Fs)],
            LeastSquares.Confidence, F(ols.Sigma), ols.DegreesOfFreedom, F(ols.RSquared), F(ols.AdjustedRSquared),
            F(ols.LogLikelihood), F(ols.Aic), F(ols.Bic), F(deviation));
    }

    private static double? F(double? value) => value is { } v && double.IsFinite(v) ? v : null;

    private static double?[] Fs(double[] values) => Array.ConvertAll(values, v => F(v));
}
