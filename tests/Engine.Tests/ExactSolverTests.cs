using System.Text.Json;
using FitService.Engine.Exact;
using FitService.Engine.Models;

namespace FitService.Engine.Tests;

/// <summary>The exact optima against numpy (bench/exact_reference.py): polyfit for MSE, brute force over vertices for MAE, long IRLS for Huber.</summary>
public class ExactSolverTests
{
    public static TheoryData<string> Cases() =>
        [.. TestData.Load("exact_reference.json").GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("loss").GetString() + ": " + c.GetProperty("name").GetString())];

    private static (double[] X, double[] Y, int Degree, LossSpec Loss, JsonElement Case) Load(string key)
    {
        var c = TestData.Load("exact_reference.json").GetProperty("cases").EnumerateArray()
            .Single(e => e.GetProperty("loss").GetString() + ": " + e.GetProperty("name").GetString() == key);
        double[] Doubles(string field) => [.. c.GetProperty(field).EnumerateArray().Select(e => e.GetDouble())];
        var kind = c.GetProperty("loss").GetString() switch { "mse" => LossKind.Mse, "mae" => LossKind.Mae, _ => LossKind.Huber };
        var delta = c.TryGetProperty("huberDelta", out var d) ? d.GetDouble() : 1.0;
        return (Doubles("x"), Doubles("y"), c.GetProperty("degree").GetInt32(), new LossSpec(kind, delta), c);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OptimumLossMatchesTheReferenceTo1e8Relative(string key)
    {
        var (x, y, degree, loss, c) = Load(key);

        var optimum = ExactSolver.Solve(x, y, degree, loss);

        var expected = c.GetProperty("optimumLoss").GetDouble();
        // Never worse than the reference beyond rounding, and (being the optimum) never better by more than rounding either.
        Assert.True(Math.Abs(optimum.Loss - expected) <= 1e-8 * expected, $"loss {optimum.Loss:R}, reference {expected:R}");
        Assert.Equal(Fitter.Evaluate(x, y, degree, loss, optimum.Params), optimum.Loss);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void WellConditionedParamsMatchTheReferenceTo1e8Relative(string key)
    {
        var (x, y, degree, loss, c) = Load(key);
        if (c.TryGetProperty("illConditioned", out var ill) && ill.GetBoolean()) return;
        double[] expected = [.. c.GetProperty("params").EnumerateArray().Select(e => e.GetDouble())];

        var optimum = ExactSolver.Solve(x, y, degree, loss);

        // Relative to the largest param: a tiny coefficient next to large ones is only known to that scale.
        var scale = expected.Max(Math.Abs);
        // Huber's reference is IRLS, which converges linearly: its params are good to ~1e-7, not to rounding.
        var tolerance = loss.Kind == LossKind.Huber ? 1e-6 : 1e-8;
        for (var k = 0; k < expected.Length; k++)
            Assert.True(Math.Abs(optimum.Params[k] - expected[k]) <= tolerance * scale, $"param {k}: {optimum.Params[k]:R}, reference {expected[k]:R}");
        Assert.Null(optimum.Warning);
        if (c.TryGetProperty("conditionNumber", out var cond) && cond.ValueKind == JsonValueKind.Number)
            Assert.True(Math.Abs(optimum.ConditionNumber - cond.GetDouble()) <= 1e-6 * cond.GetDouble(), $"condition number {optimum.ConditionNumber}, numpy {cond.GetDouble()}");
    }

    [Fact]
    public void Degree10On0To1000IsFlaggedWithTheScalingThatFixesIt()
    {
        var (x, y, degree, loss, c) = Load("mse: ill-conditioned: degree 10 on [0, 1000]");

        var optimum = ExactSolver.Solve(x, y, degree, loss);

        Assert.True(optimum.ConditionNumber > 1e25, $"condition number {optimum.ConditionNumber:E2}");
        var scaled = c.GetProperty("scaledConditionNumber").GetDouble();
        Assert.True(Math.Abs(optimum.ScaledConditionNumber - scaled) <= 1e-6 * scaled, $"scaled {optimum.ScaledConditionNumber}, numpy {scaled}");
        Assert.NotNull(optimum.Warning);
        Assert.Contains("x' = (x − 500)/500", optimum.Warning);
        Assert.Contains("drops to 1.7e+3", optimum.Warning);
        // numpy.polyfit in powers of x is worse than the optimum the scaled basis finds.
        double[] numpyParams = [.. c.GetProperty("params").EnumerateArray().Select(e => e.GetDouble())];
        Assert.True(optimum.Loss <= Fitter.Evaluate(x, y, degree, loss, numpyParams) * (1 + 1e-8));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    public void TheLeastAbsoluteDeviationsOptimumInterpolatesDegreePlusOnePoints(int degree)
    {
        var optimum = ExactSolver.Solve(LessonData.X, LessonData.Y, degree, new LossSpec(LossKind.Mae));

        var scale = LessonData.Y.Max(Math.Abs);
        var zeros = LessonData.X.Select((x, i) => Math.Abs(Polynomial.Evaluate(optimum.Params, x) - LessonData.Y[i])).Count(r => r <= 1e-9 * scale);
        Assert.True(zeros >= degree + 1, $"{zeros} residuals are zero; the LAD optimum has at least {degree + 1}");
        Assert.Contains("certificate", optimum.Method);
    }

    [Fact]
    public void NoParamMoveLowersTheMaeOrHuberOptimum()
    {
        foreach (var loss in new[] { new LossSpec(LossKind.Mae), new LossSpec(LossKind.Huber, 1.0), new LossSpec(LossKind.Huber, 0.3) })
        {
            var optimum = ExactSolver.Solve(LessonData.X, LessonData.Y, 2, loss);
            var random = new Random(3);
            for (var trial = 0; trial < 200; trial++)
            {
                var h = Math.Pow(10, -random.Next(2, 8));
                double[] moved = [.. optimum.Params.Select(p => p + h * (random.NextDouble() - 0.5))];
                Assert.True(Fitter.Evaluate(LessonData.X, LessonData.Y, 2, loss, moved) >= optimum.Loss * (1 - 1e-14), $"{loss}: a move of {h} lowered the loss");
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void DataOnTheModelItselfHasItsOwnParamsAsTheOptimumForEveryLoss(int degree)
    {
        // No noise: every residual at the optimum is zero up to rounding, which leaves LAD without a sign to follow.
        var x = Enumerable.Range(0, 20).Select(i => -2 + 4 * i / 19.0).ToArray();
        double[] truth = [.. Enumerable.Range(0, degree + 1).Select(k => 3.0 - k)];
        var y = x.Select(v => Polynomial.Evaluate(truth, v)).ToArray();
        foreach (var loss in new[] { new LossSpec(LossKind.Mae), new LossSpec(LossKind.Mse), new LossSpec(LossKind.Huber, 1.0) })
        {
            var optimum = ExactSolver.Solve(x, y, degree, loss);
            for (var k = 0; k <= degree; k++) Assert.Equal(truth[k], optimum.Params[k], 1e-9);
            Assert.True(optimum.Loss < 1e-10, $"{loss.Kind}: loss {optimum.Loss}");
        }
    }

    [Fact]
    public void DescentOnTheLessonNeverBeatsTheOptimum()
    {
        foreach (var kind in new[] { LossKind.Mae, LossKind.Mse, LossKind.Huber })
        {
            var problem = LessonData.Problem(steps: 300) with { Loss = new LossSpec(kind), Optimizer = new AdamSpec(), LearningRate = 0.1 };
            var fit = Fitter.Run(problem);
            var optimum = ExactSolver.Solve(problem.X, problem.Y, 2, problem.Loss);
            Assert.True(fit.Loss >= optimum.Loss * (1 - 1e-12), $"{kind}: descent {fit.Loss}, optimum {optimum.Loss}");
        }
    }
}
