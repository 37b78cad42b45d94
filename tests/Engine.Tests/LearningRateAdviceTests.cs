namespace FitService.Engine.Tests;

/// <summary>After a divergence, a refit at the suggested rate does not diverge, whatever the optimizer and schedule.</summary>
public class LearningRateAdviceTests
{
    public static TheoryData<string, string> Combinations()
    {
        var data = new TheoryData<string, string>();
        foreach (var optimizer in Optimizers.Keys)
            foreach (var schedule in Schedules.Keys)
                data.Add(optimizer, schedule);
        return data;
    }

    private static readonly Dictionary<string, OptimizerSpec?> Optimizers = new()
    {
        ["sgd"] = null,
        ["momentum 0.9"] = new SgdSpec(Momentum: 0.9),
        ["nesterov 0.9"] = new SgdSpec(Momentum: 0.9, Nesterov: true),
        ["momentum 0.5, dampening 0.5"] = new SgdSpec(Momentum: 0.5, Dampening: 0.5),
        ["momentum 0.9, dampening 1.5"] = new SgdSpec(Momentum: 0.9, Dampening: 1.5),
        ["adam"] = new AdamSpec(),
    };

    private static readonly Dictionary<string, Func<double, ScheduleSpec?>> Schedules = new()
    {
        ["constant"] = _ => null,
        ["step γ 2"] = _ => new StepSchedule(100, 2),
        ["exponential γ 1.05"] = _ => new ExponentialSchedule(1.05),
        ["cosine"] = _ => new CosineSchedule(),
        ["oneCycle"] = rate => new OneCycleSchedule(rate),
    };

    [Theory]
    [MemberData(nameof(Combinations))]
    public void ARefitAtTheSuggestedRateDoesNotDiverge(string optimizer, string schedule)
    {
        foreach (var rate in new[] { 0.001, 0.1, 10, 1e100, 1e300 })
        {
            var problem = Problem(optimizer, schedule, rate);
            var first = Fitter.Run(problem);
            if (first.StopReason != StopReason.Diverged) continue;

            var suggested = first.SuggestedLearningRate!.Value;
            var refit = Fitter.Run(Problem(optimizer, schedule, suggested));

            Assert.True(suggested < (problem.Schedule is OneCycleSchedule o ? o.MaxLearningRate : rate));
            Assert.True(refit.StopReason != StopReason.Diverged, $"rate {rate} diverged at {first.Step}; the suggested {suggested} diverged again at {refit.Step}");
            return;
        }
        // Bounded optimizers and decaying schedules may never diverge on this problem; nothing to advise then.
    }

    [Fact]
    public void TheIssuesExponentialScheduleGetsARateThatSurvivesItsLargestStep()
    {
        // Degree 5, MSE, rate 0.001 with exponential γ = 1.05 diverged at step 158; the old advice (0.0001) at step 205.
        var problem = Problem("sgd", "exponential γ 1.05", 0.001);
        var first = Fitter.Run(problem);
        Assert.Equal(StopReason.Diverged, first.StopReason);

        var refit = Fitter.Run(problem with { LearningRate = first.SuggestedLearningRate!.Value });

        Assert.Equal(StopReason.Steps, refit.StopReason);
    }

    [Fact]
    public void PlainSgdAtAConstantRateIsStillAdvisedHalfTheStabilityBound()
    {
        var lambda = LearningRateAdvice.LargestHessianEigenvalue(LessonData.X, 5);
        var suggested = LearningRateAdvice.Suggest(Problem("sgd", "constant", 1), 1);

        Assert.InRange(suggested, 0.4 / lambda, 1.0 / lambda);
    }

    private static FitProblem Problem(string optimizer, string schedule, double rate) =>
        new(LessonData.X, LessonData.Y, 5, new LossSpec(LossKind.Mse), rate, 300, Optimizer: Optimizers[optimizer], Schedule: Schedules[schedule](rate));
}
