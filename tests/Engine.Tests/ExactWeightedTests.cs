using CsCheck;
using FitService.Engine.Exact;
using static FitService.Engine.Tests.ExactReferences;

namespace FitService.Engine.Tests;

/// <summary>The weighted exact optimum (Σwᵢℓ(rᵢ)/Σwᵢ) against weighted references: exact WLS, LAD vertices, weighted IRLS.</summary>
public class ExactWeightedTests
{
    private static readonly double[] WeightChoices = [0, 0.25, 0.5, 1, 2, 3.7];

    /// <summary>Small tied data sets (as the unweighted property tests use) with weights from a few values, zeros included.</summary>
    private static readonly Gen<(double[] X, double[] Y, double[] W, int Degree)> TiedWeighted =
        Gen.Select(Gen.Int[1, 10], Gen.Int[0, 3], Gen.Int[2, 6], (n, degree, spread) => (n, degree, spread))
            .SelectMany(s => Gen.Select(
                Gen.Int[0, s.spread].Array[s.n],
                Gen.Int[-3 * s.spread, 3 * s.spread].Array[s.n],
                Gen.Int[0, WeightChoices.Length - 1].Array[s.n],
                (xs, ys, ws) => (
                    X: xs.Select(v => (double)v).ToArray(),
                    Y: ys.Select(v => (double)v).ToArray(),
                    W: ws.Select(k => WeightChoices[k]).ToArray(),
                    Degree: s.degree)))
            .Where(d => d.W.Any(w => w > 0));

    [Fact]
    public void TheWeightedMaeOptimumEqualsTheBestWeightedVertex()
    {
        TiedWeighted.Sample(d =>
        {
            var optimum = ExactSolver.Solve(d.X, d.Y, d.W, d.Degree, new LossSpec(LossKind.Mae));
            var reference = LeastAbsoluteDeviationsByVertices(d.X, d.Y, d.Degree, d.W);
            return Math.Abs(optimum.Loss - reference) <= 1e-9 * Math.Max(1, reference);
        }, iter: 3000);
    }

    [Fact]
    public void TheWeightedMseOptimumEqualsExactWeightedLeastSquaresOnOffsetData()
    {
        Gen.Select(Gen.Int[0, 4], Gen.Int[1, 5], Gen.Int[0, 3], (degree, extra, offsetPower) => (degree, extra, offsetPower))
            .SelectMany(s => Gen.Select(
                Gen.Int[-400, 400].Array[s.degree + 1 + s.extra],
                Gen.Int[-100, 100].Array[s.degree + 1 + s.extra],
                Gen.Int[0, WeightChoices.Length - 1].Array[s.degree + 1 + s.extra],
                (xs, ys, ws) => (
                    X: xs.Select(v => Math.Pow(1000, s.offsetPower) + v * 0.25).ToArray(),
                    Y: ys.Select(v => v / 8.0).ToArray(),
                    W: ws.Select(k => WeightChoices[k]).ToArray(),
                    s.degree)))
            // Enough distinct x among the points that count, so that the weighted problem has one optimum.
            .Where(d => d.X.Where((_, i) => d.W[i] > 0).Distinct().Count() >= d.degree + 1)
            .Sample(d =>
            {
                var optimum = ExactSolver.Solve(d.X, d.Y, d.W, d.degree, new LossSpec(LossKind.Mse));
                var exact = ExactLeastSquaresLoss(d.X, d.Y, d.degree, d.W);
                // As unweighted: rounding leaves residuals of about ε·κ·|y| (κ of the scaled, weighted problem).
                var rounding = 1e-13 * Math.Max(1, optimum.ScaledConditionNumber) * d.Y.Max(Math.Abs);
                return Math.Abs(optimum.Loss - exact) <= 1e-9 * exact + rounding * rounding;
            }, iter: 1500);
    }

    [Fact]
    public void TheWeightedMseOptimumMatchesStatsmodelsWls()
    {
        // statsmodels 0.13.5: sm.WLS(y, np.vander(x, 3), weights=w).fit().params, and Σw·r²/Σw of its residuals.
        double[] x = [0, 1, 2, 3, 4, 5, 6, 7];
        double[] y = [1.0, 2.5, 2.9, 4.2, 20.0, 6.1, 7.4, 7.9];
        double[] w = [1, 2, 0.5, 1, 0, 3, 1, 0.25];

        var optimum = ExactSolver.Solve(x, y, w, 2, new LossSpec(LossKind.Mse));

        Assert.Equal(-0.0031408629441623537, optimum.Params[0], 12);
        Assert.Equal(1.0012373096446692, optimum.Params[1], 12);
        Assert.Equal(1.2534137055837569, optimum.Params[2], 12);
        Assert.Equal(0.03904670050761424, optimum.Loss, 12);
    }

    [Fact]
    public void WeightedHuberConvergesAndMatchesWeightedIrls()
    {
        Gen.Select(Gen.Int[2, 2000], Gen.Int[0, 4], Gen.Double[0.1, 3], Gen.Int[0, int.MaxValue], (n, degree, delta, seed) => (n, degree, delta, seed))
            .Where(s => s.n > s.degree)
            .Sample(s => CheckHuber(s.n, s.degree, s.delta, s.seed), iter: 200);
    }

    [Theory]
    [InlineData(5_000, 2, 1.0, 1)]
    [InlineData(50_000, 3, 0.5, 2)]
    public void WeightedHuberConvergesOnLargeSets(int n, int degree, double delta, int seed) => Assert.True(CheckHuber(n, degree, delta, seed));

    /// <summary>Sets a random run once failed on: a weighted interpolating fit whose two losses are both rounding (CI seed 1FkHYhhFdNx2).</summary>
    [Theory]
    [InlineData(6, 4, 4d / 19, 1890186735)]
    public void WeightedHuberAgreesOnPinnedSets(int n, int degree, double delta, int seed) => Assert.True(CheckHuber(n, degree, delta, seed));

    /// <summary>Laplace noise with outliers and weights spanning 1e-3 to 10 (a tenth of them 0).</summary>
    private static bool CheckHuber(int n, int degree, double delta, int seed)
    {
        var random = new Random(seed);
        var x = Enumerable.Range(0, n).Select(_ => Math.Round(random.NextDouble() * 20 - 5, 2)).ToArray();
        var w = x.Select(_ => random.Next(10) == 0 ? 0 : Math.Pow(10, random.NextDouble() * 4 - 3)).ToArray();
        if (x.Where((_, i) => w[i] > 0).Distinct().Count() <= degree) return true;
        double Laplace() => -Math.Log(random.NextDouble()) * (random.Next(2) * 2 - 1);
        var y = x.Select(v => 1 + v - 0.05 * v * v + Laplace() * (random.Next(20) == 0 ? 30 : 1)).ToArray();

        var optimum = ExactSolver.Solve(x, y, w, degree, new LossSpec(LossKind.Huber, delta));

        var irls = HuberByIrls(x, y, degree, delta, pointWeights: w);
        // Where the points of nonzero weight are degree + 1, the fit interpolates: loss 0 but for rounding, residuals of
        // ~1e-14·max|y| grown by the Vandermonde system's conditioning (x up to 15, degree up to 4) and scaled by weights up
        // to 10. Losses below that floor are equal whatever their ratio (seed 1FkHYhhFdNx2: 4.7e-25 against 1.3e-27 at n 6).
        var floor = 0.5 * Math.Pow(1e-11 * y.Max(Math.Abs), 2) * w.Max();
        Assert.True(optimum.Loss <= irls * (1 + 1e-12) + floor, $"n {n}: solver {optimum.Loss:R}, IRLS {irls:R}");
        Assert.True(irls <= optimum.Loss * (1 + 1e-6) + floor, $"n {n}: IRLS {irls:R} far above the solver's {optimum.Loss:R}");
        Assert.True(optimum.GradientNorm <= 1e-8 * delta, $"gradient norm {optimum.GradientNorm}");
        return true;
    }

    [Theory]
    [InlineData(LossKind.Mse)]
    [InlineData(LossKind.Mae)]
    [InlineData(LossKind.Huber)]
    public void AWeightOfTwoIsThePointTwiceAndAWeightOfZeroIsNoPoint(LossKind kind)
    {
        var random = new Random(7);
        var x = Enumerable.Range(0, 60).Select(_ => Math.Round(random.NextDouble() * 10, 1)).ToArray();
        var y = x.Select(v => Math.Round(0.3 * v * v - v + 4 * (random.NextDouble() - 0.5), 1)).ToArray();
        var w = x.Select((_, i) => i % 3 == 0 ? 2.0 : i % 7 == 0 ? 0.0 : 1.0).ToArray();
        var xs = x.SelectMany((v, i) => Enumerable.Repeat(v, (int)w[i])).ToArray();
        var ys = y.SelectMany((v, i) => Enumerable.Repeat(v, (int)w[i])).ToArray();
        var loss = new LossSpec(kind, 0.5);

        var weighted = ExactSolver.Solve(x, y, w, 2, loss);
        var repeated = ExactSolver.Solve(xs, ys, 2, loss);

        Assert.Equal(repeated.Loss, weighted.Loss, 1e-12 * repeated.Loss);
        // MAE optima need not be unique; its loss is the comparison. MSE and Huber (strictly convex here) have one optimum.
        if (kind != LossKind.Mae)
            for (var k = 0; k < 3; k++) Assert.Equal(repeated.Params[k], weighted.Params[k], 1e-9 * (1 + Math.Abs(repeated.Params[k])));
    }

    [Theory]
    [InlineData(LossKind.Mse)]
    [InlineData(LossKind.Mae)]
    [InlineData(LossKind.Huber)]
    public void EqualWeightsGiveTheUnweightedOptimum(LossKind kind)
    {
        var x = LessonData.X;
        var y = LessonData.Y;
        var loss = new LossSpec(kind);

        var plain = ExactSolver.Solve(x, y, 2, loss);
        var weighted = ExactSolver.Solve(x, y, [.. x.Select(_ => 3.5)], 2, loss);

        Assert.Equal(plain.Loss, weighted.Loss, 1e-12 * plain.Loss);
        Assert.Null(ExactSolver.Solve(x, y, null, 2, loss).Warning);
    }

    [Theory]
    [InlineData(new[] { 1.0, -1, 1 }, "≥ 0")]
    [InlineData(new[] { 1.0, double.NaN, 1 }, "finite")]
    [InlineData(new[] { 0.0, 0, 0 }, "> 0")]
    [InlineData(new[] { 1.0, 1 }, "length")]
    public void InvalidWeightsAreRejectedNamingTheRule(double[] weights, string rule)
    {
        var error = Assert.Throws<ArgumentException>(() => ExactSolver.Solve([0, 1, 2], [1, 2, 4], weights, 1, new LossSpec(LossKind.Mse)));

        Assert.Equal("weights", error.ParamName);
        Assert.Contains(rule, error.Message);
    }

    [Fact]
    public void WhenTooFewPointsCountTheOptimumIsRankDeficientNotWrong()
    {
        // Four points but only two of positive weight: a line through them, whatever the points of weight 0 say.
        var optimum = ExactSolver.Solve([0, 1, 2, 3], [5, 1, 3, 100], [0, 1, 1, 0], 2, new LossSpec(LossKind.Mse));

        Assert.Contains("rank-deficient", optimum.Warning);
        Assert.Equal(0, optimum.Loss, 12);
    }
}
