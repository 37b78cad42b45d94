namespace FitService.Engine.Tests;

/// <summary>Validation with the API's camelCase field names and PyTorch's optimizer rules.</summary>
public class ValidatorTests
{
    private static readonly FitProblem Valid = LessonData.Problem();

    private static string[] Fields(FitProblem p) => [.. FitProblemValidator.Validate(p).Select(e => e.Field)];

    [Fact]
    public void TheLessonIsValid() => Assert.Empty(FitProblemValidator.Validate(Valid));

    public static TheoryData<string, FitProblem> Invalid() => new()
    {
        { "x", Valid with { X = [], Y = [] } },
        { "x", Valid with { X = [.. LessonData.X[..19], double.NaN] } },
        { "y", Valid with { Y = LessonData.Y[..19] } },
        { "y", Valid with { Y = [.. LessonData.Y[..19], double.PositiveInfinity] } },
        { "degree", Valid with { Degree = 21 } },
        { "degree", Valid with { Degree = -1 } },
        { "huberDelta", Valid with { Loss = new LossSpec(LossKind.Huber, 0) } },
        { "learningRate", Valid with { LearningRate = 0 } },
        { "learningRate", Valid with { LearningRate = double.NaN } },
        { "steps", Valid with { Steps = 0 } },
        { "initialParams", Valid with { InitialParams = [1, 2] } },
        { "initialParams", Valid with { InitialParams = [1, 2, double.NaN] } },
        { "optimizer.momentum", Valid with { Optimizer = new SgdSpec(-0.1) } },
        { "optimizer.nesterov", Valid with { Optimizer = new SgdSpec(0, 0, Nesterov: true) } },
        { "optimizer.nesterov", Valid with { Optimizer = new SgdSpec(0.9, 0.1, Nesterov: true) } },
        { "optimizer.beta1", Valid with { Optimizer = new AdamSpec(Beta1: 1.0) } },
        { "optimizer.beta2", Valid with { Optimizer = new AdamSpec(Beta2: -0.1) } },
        { "optimizer.epsilon", Valid with { Optimizer = new AdamSpec(Epsilon: -1e-8) } },
        { "schedule.every", Valid with { Schedule = new StepSchedule(0, 0.5) } },
        { "schedule.gamma", Valid with { Schedule = new ExponentialSchedule(0) } },
        { "schedule.minLearningRate", Valid with { Schedule = new CosineSchedule(-1) } },
        { "schedule.maxLearningRate", Valid with { Schedule = new OneCycleSchedule(0) } },
        { "schedule.warmupFraction", Valid with { Schedule = new OneCycleSchedule(1, 1.5) } },
        { "stop.patience", Valid with { Stop = new StopSpec(MinImprovement: 0.1, Patience: 0) } },
        { "stop.minImprovement", Valid with { Stop = new StopSpec(MinImprovement: -1) } },
        { "historyEvery", Valid with { HistoryEvery = 0 } },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void ABadFieldIsNamedAndRunRefusesIt(string field, FitProblem problem)
    {
        Assert.Equal([field], Fields(problem));
        Assert.Throws<ArgumentException>(() => Fitter.Run(problem));
    }

    [Fact]
    public void LengthMismatchSaysBothLengths() =>
        Assert.Equal("length 19 differs from x (20)", FitProblemValidator.Validate(Valid with { Y = LessonData.Y[..19] }).Single().Message);

    [Fact]
    public void LimitsAreChecked() =>
        Assert.Equal(["x", "steps"], FitProblemValidator.Validate(Valid, maxPoints: 10, maxSteps: 5).Select(e => e.Field));

    [Fact]
    public void SeveralProblemsAreAllReported() =>
        Assert.Equal(["degree", "learningRate", "historyEvery"], Fields(Valid with { Degree = 30, LearningRate = -1, HistoryEvery = 0 }));
}
