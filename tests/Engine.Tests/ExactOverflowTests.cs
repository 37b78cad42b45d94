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

    [Theory]
    [InlineData(LossKind.Mse)]
    [InlineData(LossKind.Mae)]
    [InlineData(LossKind.Huber)]
    public void ParamsThatFitInADoubleAreGivenWhenOnlyPowersOfTheCentreOverflow(LossKind loss)
    {
        // Centre 3.5e90: c⁵ is 5e452, yet the params (y/x^k, down to 1e-360, which rounds to 0) are doubles. The optimum's
        // loss does not depend on the unit of x: it is that of the same points at x/1e90.
        double[] unit = [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 2, 5], y = [3, -1, 4, 1, -5, 9, 2, 6, 5, -3, 5, 8, 9, 7];
        var x = unit.Select(v => v * 1e90).ToArray();

        var optimum = ExactSolver.Solve(x, y, 5, new LossSpec(loss));

        Assert.All(optimum.Params, p => Assert.True(double.IsFinite(p)));
        var same = ExactSolver.Solve(unit, y, 5, new LossSpec(loss));
        Assert.Equal(same.Loss, optimum.Loss, 1e-9 * Math.Max(1, same.Loss));
    }
}

/// <summary>A basis whose powers overflow the doubles has an infinite condition number; computing it never throws.</summary>
public sealed class ExactConditionOverflowTests
{
    [Theory]
    [InlineData(LossKind.Mse)]
    [InlineData(LossKind.Mae)]
    [InlineData(LossKind.Huber)]
    public void PowersOfAHugeXGiveAnInfiniteRawConditionNotAnArithmeticError(LossKind loss)
    {
        // x⁸ of 1e60 is 1e480: the raw Vandermonde matrix overflows while the scaled basis the solver works in does not.
        double[] x = [-1e60, -5e59, -1e59, 0, 1e59, 3e59, 6e59, 8e59, 1e60, 2e59];
        double[] y = [1, 2, 0, 3, 1, 4, 2, 5, 3, 1];

        var optimum = ExactSolver.Solve(x, y, 8, new LossSpec(loss));

        Assert.Equal(double.PositiveInfinity, optimum.ConditionNumber);
        Assert.True(double.IsFinite(optimum.ScaledConditionNumber));
    }

    [Fact]
    public void AMatrixWithAnInfiniteEntryHasAnInfiniteCondition()
    {
        var matrix = new double[,] { { 1, double.PositiveInfinity }, { 0, 1 } };

        Assert.Equal(double.PositiveInfinity, DenseAlgebra.ConditionNumber(matrix));
    }
}
