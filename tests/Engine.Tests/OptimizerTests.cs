using FitService.Engine.Optimization;

namespace FitService.Engine.Tests;

/// <summary>Optimizer steps and schedules against values worked out by hand from PyTorch's documented formulas.</summary>
public class OptimizerTests
{
    private static double[] TwoSteps(OptimizerSpec spec, double lr = 0.1)
    {
        var p = new[] { 1.0 };
        var optimizer = Optimizers.Create(spec, 1);
        optimizer.Step(p, [2.0], lr);
        var first = p[0];
        optimizer.Step(p, [4.0], lr);
        return [first, p[0]];
    }

    private static void AssertClose(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], tolerance);
    }

    [Fact]
    public void PlainSgdStepsAgainstTheGradient() =>
        AssertClose([1 - 0.2, 1 - 0.2 - 0.4], TwoSteps(new SgdSpec()), 1e-15);

    [Fact]
    public void SgdMomentumStartsItsBufferAtTheGradientThenDampens()
    {
        // buf1 = g1 = 2 (no dampening on the first step); buf2 = 0.9·2 + (1 − 0.1)·4 = 5.4.
        AssertClose([1 - 0.1 * 2, 1 - 0.1 * 2 - 0.1 * 5.4], TwoSteps(new SgdSpec(0.9, 0.1)), 1e-15);
    }

    [Fact]
    public void NesterovStepsWithGradientPlusMomentumTimesBuffer()
    {
        // buf1 = 2, d1 = 2 + 0.9·2 = 3.8; buf2 = 0.9·2 + 4 = 5.8, d2 = 4 + 0.9·5.8 = 9.22.
        AssertClose([1 - 0.38, 1 - 0.38 - 0.922], TwoSteps(new SgdSpec(0.9, 0, Nesterov: true)), 1e-15);
    }

    [Fact]
    public void MomentumOneWithoutDampeningIsTheLessonsAccumulatingGradient()
    {
        // The notebook never zeroes grad: the update uses g1, then g1 + g2.
        AssertClose([1 - 0.2, 1 - 0.2 - 0.6], TwoSteps(new SgdSpec(1.0)), 1e-15);
    }

    [Fact]
    public void AdamUsesBiasCorrectedMoments()
    {
        // t = 1: m = 0.2, v = 0.004; m̂ = 2, v̂ = 4; p = 1 − 0.1·2/(2 + 1e-8).
        // t = 2: m = 0.9·0.2 + 0.1·4 = 0.58, v = 0.999·0.004 + 0.001·16 = 0.019996;
        //        m̂ = 0.58/0.19, v̂ = 0.019996/0.001999.
        var p1 = 1 - 0.1 * 2 / (2 + 1e-8);
        var p2 = p1 - 0.1 * (0.58 / 0.19) / (Math.Sqrt(0.019996 / 0.001999) + 1e-8);
        AssertClose([p1, p2], TwoSteps(new AdamSpec()), 1e-13);
    }

    [Theory]
    [InlineData(0, 0.1)]
    [InlineData(9, 0.1)]
    [InlineData(10, 0.05)]
    [InlineData(25, 0.025)]
    public void StepScheduleMultipliesByGammaEveryNSteps(int i, double expected) =>
        Assert.Equal(expected, Schedules.LearningRate(new StepSchedule(10, 0.5), 0.1, i, 100), 1e-15);

    [Fact]
    public void ExponentialScheduleMultipliesByGammaEachStep() =>
        Assert.Equal(0.1 * 0.9 * 0.9 * 0.9, Schedules.LearningRate(new ExponentialSchedule(0.9), 0.1, 3, 100), 1e-15);

    [Theory]
    [InlineData(0, 0.1)]
    [InlineData(50, 0.0505)]
    [InlineData(100, 0.001)]
    public void CosineScheduleAnnealsToTheMinimumOverAllSteps(int i, double expected) =>
        Assert.Equal(expected, Schedules.LearningRate(new CosineSchedule(0.001), 0.1, i, 100), 1e-15);

    [Theory]
    [InlineData(0, 1.0 / 25)]        // starts at max/div
    [InlineData(125, (1.0 + 1.0 / 25) / 2)] // halfway through the warm-up
    [InlineData(250, 1.0)]           // peak at the end of the warm-up
    [InlineData(625, (1.0 + 1e-5) / 2)]     // halfway down
    public void OneCycleWarmsUpThenAnneals(int i, double expected) =>
        Assert.Equal(expected, Schedules.LearningRate(new OneCycleSchedule(1.0), 0.5, i, 1000), 1e-12);
}
