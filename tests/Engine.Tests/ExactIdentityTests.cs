using FitService.Engine.Exact;

namespace FitService.Engine.Tests;

/// <summary>
/// The exact solver answers bit for bit what it answered before its tiny-problem work: today's
/// <see cref="ExactSolver.Solve(double[], double[], double[], int, LossSpec, CancellationToken)"/> against the oracle kept in
/// tests/Engine.Tests/Oracle, over seeded random problems of every awkward kind (tied x, tied y, duplicated points, exact
/// fits, too few distinct x, huge and tiny magnitudes, x far from 0, weights with zeros), for MAE, MSE and Huber up to
/// degree 5 (and a few beyond). Params, loss, condition numbers, method, warning, iterations and gradient norm must be the
/// same bits; a failure must be the same exception with the same message.
/// </summary>
public class ExactIdentityTests
{
    private static readonly string[] Kinds =
    [
        "plain", "tied x", "tied y", "duplicated points", "exact fit", "few distinct x", "one x", "huge", "tiny",
        "offset x", "integers", "constant y", "zero y", "one point",
    ];

    [Theory]
    [InlineData(LossKind.Mae)]
    [InlineData(LossKind.Mse)]
    [InlineData(LossKind.Huber)]
    public void TinyProblemsGiveTheOracleAnswersBitForBit(LossKind kind)
    {
        for (var seed = 0; seed < 1500; seed++)
        {
            var random = new Random(seed * 7 + (int)kind);
            var problem = Make(random, Kinds[seed % Kinds.Length], maxPoints: 40);
            AssertSameAnswer(problem, kind, random, seed);
        }
    }

    [Theory]
    [InlineData(LossKind.Mae)]
    [InlineData(LossKind.Mse)]
    [InlineData(LossKind.Huber)]
    public void WeightedTinyProblemsGiveTheOracleAnswersBitForBit(LossKind kind)
    {
        for (var seed = 0; seed < 700; seed++)
        {
            var random = new Random(100_000 + seed * 7 + (int)kind);
            var problem = Make(random, Kinds[seed % Kinds.Length], maxPoints: 40);
            var weights = new double[problem.X.Length];
            for (var i = 0; i < weights.Length; i++) weights[i] = random.Next(4) == 0 ? 0 : random.Next(3) == 0 ? random.Next(1, 4) : random.NextDouble() * 3;
            if (!weights.Any(w => w > 0)) weights[0] = 1;
            AssertSameAnswer(problem with { Weights = weights }, kind, random, seed);
        }
    }

    [Theory]
    [InlineData(LossKind.Mae)]
    [InlineData(LossKind.Mse)]
    [InlineData(LossKind.Huber)]
    public void LargerProblemsGiveTheOracleAnswersBitForBit(LossKind kind)
    {
        // Past the tiny sizes: hundreds of points, and past 2,000 where the MAE walk holds the far points on their side.
        for (var seed = 0; seed < 24; seed++)
        {
            var random = new Random(200_000 + seed * 7 + (int)kind);
            var problem = Make(random, Kinds[seed % 11], maxPoints: seed % 4 == 3 ? 6000 : 400);
            if (seed % 3 == 0) problem = problem with { Weights = [.. problem.X.Select(_ => random.Next(5) == 0 ? 0.0 : random.NextDouble() + 0.5)] };
            AssertSameAnswer(problem, kind, random, seed);
        }
    }

    [Fact]
    public void TheLessonGivesTheOracleAnswersBitForBit()
    {
        foreach (var kind in new[] { LossKind.Mae, LossKind.Mse, LossKind.Huber })
            for (var degree = 0; degree <= 8; degree++)
                AssertSameAnswer(new Problem(LessonData.X, LessonData.Y, null, degree), kind, new Random(degree), degree);
    }

    [Fact]
    public void TheOptimumsFitLossAddsAsTheCompiledKernelDoes()
    {
        // The loss reported is a fit's own loss of the params: the direct loop must give the kernel's bits for any params,
        // including ones whose terms overflow (inf, NaN) and every count of points modulo the kernel's 4 lanes.
        var random = new Random(4242);
        for (var trial = 0; trial < 3000; trial++)
        {
            var n = random.Next(1, 300);
            var degree = random.Next(0, 7);
            var x = new double[n];
            var y = new double[n];
            var magnitude = Math.Pow(10, random.Next(-5, 308));
            for (var i = 0; i < n; i++) (x[i], y[i]) = ((random.NextDouble() - 0.5) * 8, (random.NextDouble() - 0.5) * magnitude);
            double[] parameters = [.. Enumerable.Range(0, degree + 1).Select(_ => (random.NextDouble() - 0.5) * magnitude)];
            var kind = (LossKind[])[LossKind.Mae, LossKind.Mse, LossKind.Huber];
            var loss = new LossSpec(kind[trial % 3], Math.Pow(10, random.Next(-3, 4)) * random.NextDouble() + 1e-6);
            var expected = Fitter.Compile(new FitProblem(x, y, degree, loss, 1.0, 1), maxDegreeOfParallelism: 1).Forward(parameters);
            var actual = ExactSolver.FitLoss(x, y, loss, parameters);
            Assert.True(Same(expected, actual), $"trial {trial}: {loss}, {n} points, degree {degree}: {actual:R}, kernel {expected:R}");
        }
    }

    private sealed record Problem(double[] X, double[] Y, double[]? Weights, int Degree);

    private static void AssertSameAnswer(Problem problem, LossKind kind, Random random, int seed)
    {
        var loss = kind == LossKind.Huber ? new LossSpec(kind, random.Next(3) switch { 0 => 1.0, 1 => random.NextDouble() * 3 + 1e-3, _ => Math.Pow(10, random.Next(-3, 4)) }) : new LossSpec(kind);
        var (expected, expectedError) = Run(() => Oracle.ExactSolver.Solve(problem.X, problem.Y, problem.Weights, problem.Degree, loss));
        var (actual, actualError) = Run(() => ExactSolver.Solve(problem.X, problem.Y, problem.Weights, problem.Degree, loss));
        var what = $"seed {seed}, {kind} (δ {loss.HuberDelta}), degree {problem.Degree}, {problem.X.Length} points, weights {problem.Weights is not null}: " +
            $"x [{string.Join(", ", problem.X.Select(v => v.ToString("R")))}] y [{string.Join(", ", problem.Y.Select(v => v.ToString("R")))}]";
        Assert.True(expectedError == actualError, $"{what}: error '{actualError}', expected '{expectedError}'");
        if (expected is null || actual is null) return;
        Assert.True(Bits(expected.Params).SequenceEqual(Bits(actual.Params)),
            $"{what}: params [{string.Join(", ", actual.Params.Select(v => v.ToString("R")))}], expected [{string.Join(", ", expected.Params.Select(v => v.ToString("R")))}]");
        Assert.True(Same(expected.Loss, actual.Loss), $"{what}: loss {actual.Loss:R}, expected {expected.Loss:R}");
        Assert.True(Same(expected.ConditionNumber, actual.ConditionNumber), $"{what}: condition number");
        Assert.True(Same(expected.ScaledConditionNumber, actual.ScaledConditionNumber), $"{what}: scaled condition number");
        Assert.True(expected.Method == actual.Method, $"{what}: method '{actual.Method}', expected '{expected.Method}'");
        Assert.True(expected.Warning == actual.Warning, $"{what}: warning '{actual.Warning}', expected '{expected.Warning}'");
        Assert.True(expected.Iterations == actual.Iterations, $"{what}: iterations {actual.Iterations}, expected {expected.Iterations}");
        Assert.True(Same(expected.GradientNorm ?? -1, actual.GradientNorm ?? -1) && expected.GradientNorm.HasValue == actual.GradientNorm.HasValue,
            $"{what}: gradient norm {actual.GradientNorm:R}, expected {expected.GradientNorm:R}");
    }

    private static (ExactOptimum? Optimum, string? Error) Run(Func<ExactOptimum> solve)
    {
        try
        {
            return (solve(), null);
        }
        catch (Exception e)
        {
            return (null, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static long[] Bits(double[] values) => [.. values.Select(BitConverter.DoubleToInt64Bits)];

    private static bool Same(double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b);

    /// <summary>A random problem of the given kind, up to <paramref name="maxPoints"/> points, degree 0–5 (now and then up to 8).</summary>
    private static Problem Make(Random random, string kind, int maxPoints)
    {
        var n = kind == "one point" ? 1 : random.Next(1, maxPoints + 1);
        var degree = random.Next(8) == 0 ? random.Next(6, 9) : random.Next(0, 6);
        var x = new double[n];
        var y = new double[n];
        double[] truth = [.. Enumerable.Range(0, degree + 1).Select(_ => Math.Round(random.NextDouble() * 8 - 4, 2))];
        for (var i = 0; i < n; i++)
        {
            x[i] = random.NextDouble() * 4 - 2;
            y[i] = Models.Polynomial.Evaluate(truth, x[i]) + (random.NextDouble() - 0.5) * 3;
        }
        switch (kind)
        {
            case "tied x":
                for (var i = 0; i < n; i++) x[i] = random.Next(-3, 4) * 0.5;
                for (var i = 0; i < n; i++) y[i] = Models.Polynomial.Evaluate(truth, x[i]) + (random.NextDouble() - 0.5) * 3;
                break;
            case "tied y":
                for (var i = 0; i < n; i++) y[i] = Math.Round(y[i]);
                break;
            case "duplicated points":
                for (var i = 1; i < n; i++)
                    if (random.Next(2) == 0)
                    {
                        var j = random.Next(i);
                        (x[i], y[i]) = (x[j], y[j]);
                    }
                break;
            case "exact fit":
                for (var i = 0; i < n; i++) x[i] = random.Next(-10, 11);
                for (var i = 0; i < n; i++) y[i] = Models.Polynomial.Evaluate(truth, x[i]);
                if (n > 3 && random.Next(2) == 0) y[random.Next(n)] += 5;
                break;
            case "few distinct x":
                var values = random.Next(1, Math.Max(2, degree + 1));
                for (var i = 0; i < n; i++) x[i] = random.Next(values) * 1.5 - 1;
                break;
            case "one x":
                Array.Fill(x, random.NextDouble() * 10 - 5);
                break;
            case "huge":
                var big = Math.Pow(10, random.Next(20, 60));
                for (var i = 0; i < n; i++) (x[i], y[i]) = (x[i] * (random.Next(2) == 0 ? 1 : big), y[i] * big * big);
                break;
            case "tiny":
                var small = Math.Pow(10, -random.Next(20, 150));
                for (var i = 0; i < n; i++) (x[i], y[i]) = (x[i] * (random.Next(2) == 0 ? 1 : small), y[i] * small);
                break;
            case "offset x":
                var offset = Math.Pow(10, random.Next(2, 9));
                for (var i = 0; i < n; i++) x[i] += offset;
                break;
            case "integers":
                for (var i = 0; i < n; i++) (x[i], y[i]) = (random.Next(0, 30), random.Next(-20, 21));
                break;
            case "constant y":
                Array.Fill(y, Math.Round(random.NextDouble() * 10 - 5, 1));
                break;
            case "zero y":
                Array.Fill(y, 0.0);
                break;
        }
        return new Problem(x, y, null, degree);
    }
}
