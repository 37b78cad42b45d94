using System.Text.Json;
using FitService.Engine.Statistics;

namespace FitService.Engine.Tests;

/// <summary>
/// The least-squares inference equals statsmodels OLS and WLS (Data/statsmodels_reference.json, written by
/// bench/statsmodels_reference.py) to 1e-9 relative, and the t distribution equals mpmath's 40-digit values.
/// </summary>
public sealed class StatisticsTests
{
    private const double Tolerance = 1e-9;
    private static readonly JsonElement Reference = TestData.Load("statsmodels_reference.json");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Reference.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonElement Case(string name) =>
        Reference.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static LeastSquaresFit Fit(JsonElement c, out double[] x, out double[] y, out double[]? w)
    {
        x = Doubles(c.GetProperty("x"));
        y = Doubles(c.GetProperty("y"));
        w = c.GetProperty("weights").ValueKind == JsonValueKind.Null ? null : Doubles(c.GetProperty("weights"));
        var fit = LeastSquares.Fit(x, y, c.GetProperty("degree").GetInt32(), w, out var reason);
        Assert.True(fit is not null, reason);
        return fit;
    }

    private static void Close(double expected, double actual, string what, double tolerance = Tolerance)
    {
        var scale = Math.Max(Math.Abs(expected), 1e-300);
        Assert.True(Math.Abs(actual - expected) <= tolerance * scale, $"{what}: expected {expected:R}, got {actual:R} (relative {Math.Abs(actual - expected) / scale:e2})");
    }

    /// <summary>As <see cref="Close(double, double, string, double)"/>; a null reference (statsmodels' −∞ with a zero weight) must be non-finite here too.</summary>
    private static void Close(JsonElement expected, double actual, string what)
    {
        if (expected.ValueKind == JsonValueKind.Null) Assert.False(double.IsFinite(actual), $"{what}: statsmodels' is not finite, ours is {actual:R}");
        else Close(expected.GetDouble(), actual, what);
    }

    private static void Close(double[] expected, double[] actual, string what, double tolerance = Tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Close(expected[i], actual[i], $"{what}[{i}]", tolerance);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StandardErrorsAndIntervalsEqualStatsmodels(string name)
    {
        var c = Case(name);
        var fit = Fit(c, out _, out _, out _);

        Close(Doubles(c.GetProperty("params")), fit.Params, "params");
        Close(Doubles(c.GetProperty("bse")), fit.StandardErrors, "standard errors");
        Close(Doubles(c.GetProperty("tvalues")), fit.TValues, "t-values");
        var intervals = c.GetProperty("confInt").EnumerateArray().Select(Doubles).ToArray();
        for (var j = 0; j < intervals.Length; j++) Close(intervals[j], fit.ConfidenceIntervals[j], $"interval {j}");
        // Covariances that are zero in exact arithmetic (x symmetric about 0) are rounding noise: compare on the scale √(c_ii·c_jj).
        var covariance = c.GetProperty("cov").EnumerateArray().Select(Doubles).ToArray();
        for (var i = 0; i < covariance.Length; i++)
        {
            for (var j = 0; j < covariance.Length; j++)
            {
                var scale = Math.Sqrt(covariance[i][i] * covariance[j][j]);
                Assert.True(Math.Abs(fit.Covariance[i][j] - covariance[i][j]) <= Tolerance * scale, $"covariance[{i}][{j}]: {covariance[i][j]:R} vs {fit.Covariance[i][j]:R}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SummaryFiguresEqualStatsmodels(string name)
    {
        var c = Case(name);
        var fit = Fit(c, out _, out _, out _);

        Close(c.GetProperty("sigma").GetDouble(), fit.Sigma, "sigma");
        Assert.Equal(c.GetProperty("dfResid").GetDouble(), fit.DegreesOfFreedom);
        Close(c.GetProperty("ssr").GetDouble(), fit.SumOfSquares, "ssr");
        if (c.GetProperty("degree").GetInt32() == 0) Assert.True(Math.Abs(fit.RSquared) < 1e-12, $"R² of a constant: {fit.RSquared}"); // 0 up to rounding
        else Close(c.GetProperty("rsquared").GetDouble(), fit.RSquared, "R²");
        Close(c.GetProperty("llf"), fit.LogLikelihood, "log-likelihood");
        Close(c.GetProperty("aic"), fit.Aic, "AIC");
        Close(c.GetProperty("bic"), fit.Bic, "BIC");
        // p-values far in the tail are relative to tiny numbers; 1e-7 relative is what double precision affords there.
        Close(Doubles(c.GetProperty("pvalues")), fit.PValues, "p-values", 1e-7);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GoodnessOfFitAtTheLeastSquaresParamsAgreesWithStatsmodels(string name)
    {
        var c = Case(name);
        var fit = Fit(c, out var x, out var y, out var w);
        var fitted = x.Select(v => Models.Polynomial.Evaluate(fit.Params, v)).ToArray();

        var goodness = GoodnessOfFit.Of(y, fitted, w, fit.Params.Length);

        Close(c.GetProperty("llf"), goodness.LogLikelihood, "log-likelihood");
        Close(c.GetProperty("aic"), goodness.Aic, "AIC");
        Close(c.GetProperty("bic"), goodness.Bic, "BIC");
        if (c.GetProperty("degree").GetInt32() > 0) Close(c.GetProperty("rsquared").GetDouble(), goodness.RSquared!.Value, "R²");
        var quantiles = Doubles(c.GetProperty("residualQuantiles"));
        var r = goodness.Residuals;
        // Residuals are differences of nearby numbers: compare them on the scale of y.
        var scale = y.Max(Math.Abs);
        double[] actual = [r.Min, r.Q1, r.Median, r.Q3, r.Max];
        for (var i = 0; i < 5; i++) Assert.True(Math.Abs(actual[i] - quantiles[i]) <= 1e-9 * scale, $"quantile {i}: {quantiles[i]:R} vs {actual[i]:R}");
    }

    [Fact]
    public void TQuantilesAndTailsEqualMpmathAndScipy()
    {
        foreach (var row in Reference.GetProperty("t").EnumerateArray())
        {
            var df = row.GetProperty("df").GetDouble();
            if (row.TryGetProperty("quantile", out var q))
            {
                var p = row.GetProperty("p").GetDouble();
                var quantile = StudentT.Quantile(p, df);
                // The continued fraction near its switch-over point costs digits for ν ≥ 1e5 (7e-12 at ν = 1e6).
                Close(q.GetDouble(), quantile, $"quantile({p}, {df}) against mpmath", df < 1e5 ? 1e-12 : 1e-10);
                // statsmodels' intervals use scipy's t.ppf(0.975), itself within 4e-10 of the exact value.
                if (p == 0.975) Close(row.GetProperty("scipy").GetDouble(), quantile, $"t.ppf({p}, {df}) of scipy", 1e-9);
            }
            else
                Close(row.GetProperty("sf").GetDouble(), StudentT.UpperTail(row.GetProperty("t").GetDouble(), df), $"t.sf({row.GetProperty("t")}, {df})", 1e-10);
        }
    }

    [Theory]
    [InlineData(0.6)]
    [InlineData(0.975)]
    [InlineData(0.995)]
    public void TQuantilesEqualTheClosedFormsForOneAndTwoDegreesOfFreedom(double p)
    {
        // scipy's own t.ppf is only good to about 3e-10 here (0.6, 2 degrees of freedom): these are the exact values.
        Close(Math.Tan(Math.PI * (p - 0.5)), StudentT.Quantile(p, 1), "ν = 1", 1e-14);
        Close((2 * p - 1) / Math.Sqrt(2 * p * (1 - p)), StudentT.Quantile(p, 2), "ν = 2", 1e-14);
    }

    [Fact]
    public void TooFewPointsOrDistinctXGiveNoInferenceAndSayWhy()
    {
        Assert.Null(LeastSquares.Fit([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 2, default, out var tooFew));
        Assert.Contains("more points (3) than params (3)", tooFew);
        Assert.Null(LeastSquares.Fit([1.0, 1.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0], 2, default, out var distinct));
        Assert.Contains("fewer distinct x values", distinct);
        Assert.Null(LeastSquares.Fit([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], 2, [1.0, 1.0, 0.0, 0.0], out var zeroWeights));
        Assert.Contains("with weight > 0", zeroWeights);
    }

    [Fact]
    public void AMillionPointsOfDegreeTwentyStayFinite()
    {
        var x = Enumerable.Range(0, 1_000_000).Select(i => -1 + 2.0 * i / 999_999).ToArray();
        var y = x.Select(Math.Sin).ToArray();

        var fit = LeastSquares.Fit(x, y, 20, default, out _);

        Assert.NotNull(fit);
        Assert.All(fit.StandardErrors, e => Assert.True(double.IsFinite(e)));
    }

    [Fact]
    public void UnscaledParamsDescribeTheSameCurveInPowersOfX()
    {
        double[] scaled = [0.5, -2, 3, 1.25];
        var parameters = Models.Polynomial.Unscale(scaled, 22.5, 12.5);

        foreach (var x in new[] { 10.0, 17.3, 35.0 })
            Close(Models.Polynomial.Evaluate(scaled, (x - 22.5) / 12.5), Models.Polynomial.Evaluate(parameters, x), $"f({x})", 1e-12);
        Assert.Equal(scaled, Models.Polynomial.Unscale(scaled, 0, 1));
    }
}
