using FitService.Engine.Exact;
using static FitService.Engine.Tests.ExactReferences;

namespace FitService.Engine.Tests;

/// <summary>Repeated points (the same x and y twice) beside the vertex the walk stands on: the optimum, not a singular system.</summary>
public sealed class ExactTiedRegressionTests
{
    [Fact]
    public void ARepeatedPointBesideItsTwinInTheVertexNeverEntersIt()
    {
        // Found by the tied-data property test (CsCheck seed 9z6RwcRwj902): (1, −5) and (4, 1) appear twice, x has only
        // the 4 distinct values a cubic needs, and a step's edge passed through the twin of a vertex point.
        double[] x = [4, 0, 1, 1, 1, 4, 3, 4, 1, 4, 3, 4], y = [1, 7, -5, -5, 11, -9, 0, 11, 1, 1, 0, 0];

        var optimum = ExactSolver.Solve(x, y, 3, new LossSpec(LossKind.Mae));

        Assert.Equal(LeastAbsoluteDeviationsByVertices(x, y, 3), optimum.Loss, 12);
        Assert.Contains("certificate", optimum.Method);
    }

    [Fact]
    public void ManyRepeatedPointsOnFewDistinctXReachTheBestVertex()
    {
        var random = new Random(20261201);
        for (var round = 0; round < 20000; round++)
        {
            var degree = random.Next(1, 4);
            var distinct = degree + 1;
            var n = distinct + random.Next(2, 10);
            var x = new double[n];
            var y = new double[n];
            for (var i = 0; i < n; i++) (x[i], y[i]) = (i < distinct ? i : random.Next(distinct), random.Next(-9, 12));
            // Repeat some points exactly.
            for (var i = distinct; i < n; i++) if (random.Next(3) == 0) (x[i], y[i]) = (x[i - 1], y[i - 1]);

            var optimum = ExactSolver.Solve(x, y, degree, new LossSpec(LossKind.Mae));

            var best = LeastAbsoluteDeviationsByVertices(x, y, degree);
            Assert.True(Math.Abs(optimum.Loss - best) <= 1e-9 * Math.Max(1, best), $"round {round}: {optimum.Loss} vs {best}");
        }
    }
}
