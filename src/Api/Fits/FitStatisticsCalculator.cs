using FitService.Engine.Models;
using FitService.Engine.Statistics;

namespace FitService.Api.Fits;

/// <summary>Computes <see cref="FitStatistics"/> with the engine (src/Engine/Statistics).</summary>
public static class FitStatisticsCalculator
{
    /// <summary>
    /// The statistics of a fit with <paramref name="parameters"/> on its points (weighted: statsmodels WLS with those
    /// weights); null for loss bce, where residuals of logits against labels mean nothing (R², RMSE and the like describe a
    /// regression, not a classifier).
    /// </summary>
    public static FitStatistics? Compute(FitSpec spec, double[] x, double[] y, double[] parameters, double[]? weights = null,
        StandardizationDto? standardization = null)
    {
        if (spec.Loss == "bce") return null;
        var fitted = PredictEndpoints.Evaluate(spec, parameters, x, standardization);
        var formula = FitValidator.FormulaOf(spec);
        var goodness = GoodnessOfFit.Of(y, fitted, weights, parameters.Length);

        LeastSquaresStatistics? leastSquares = null;
        string? reason = null;
        if (formula is null && spec.Loss == "mse" && spec.Degree is { } degree)
        {
            var ols = LeastSquares.Fit(x, y, degree, weights, out reason);
            if (ols is not null) leastSquares = ToDto(ols, parameters);
        }
        var r = goodness.Residuals;
        return new FitStatistics(y.Length, parameters.Length, F(goodness.RSquared), F(goodness.Rmse), F(goodness.Mae),
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
