namespace FitService.Contracts;

/// <summary>
/// Goodness of fit of a succeeded fit at its own params, and for a polynomial with loss mse the least-squares inference
/// exactly as statsmodels OLS reports it (WLS with the fit's <c>weights</c>: every sum below is then weighted, Σwᵢ…, and
/// every mean the weighted mean Σwᵢ…/Σwᵢ). Non-finite values are null (with a zero weight, statsmodels' WLS log-likelihood is −∞).
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
/// <c>statsmodels.api.OLS(y, numpy.vander(x, degree + 1)).fit()</c> (<c>WLS(…, weights=w)</c> for a weighted fit): computed at the least-squares optimum, whatever params the
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
