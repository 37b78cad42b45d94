using FitService.Engine.Exact;

namespace FitService.Engine.Tests;

/// <summary>An optimum beyond the doubles is an <see cref="ExactSolverException"/> with the fix, never an ArgumentException from inside.</summary>
public sealed class ExactOverflowTests
{
    [Theory]
    [InlineData(LossKind.Mse)]
    [InlineData(LossKind.Mae)]
    [InlineData(LossKind.Huber)]
    public void AnOptimumThatOverflowsIsAnExactSolverError(LossKind loss)
    {
        double[] x = [1, 2, 3], y = [1.7e308, -1.7e308, 1.7e308];

        var error = Assert.Throws<ExactSolverException>(() => ExactSolver.Solve(x, y, 2, new LossSpec(loss)));

        Assert.Contains("overflow", error.Message);
    }
}
