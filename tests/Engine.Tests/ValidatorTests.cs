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

/// <summary>The network fields: each rule names its field, as the API puts it into a problem-details response.</summary>
public class NetworkValidatorTests
{
    private static readonly FitProblem Relu = new(LessonData.X, LessonData.Y, 0, new LossSpec(LossKind.Mse), 0.01, 10, Network: Networks.NetworkSpec.Relu(4));
    private static readonly FitProblem Polynomial = LessonData.Problem();

    private static IReadOnlyList<(string Field, string Message)> Errors(FitProblem p) => FitProblemValidator.Validate(p);

    [Fact]
    public void ValidNetworksHaveNoErrors()
    {
        Assert.Empty(Errors(Relu));
        Assert.Empty(Errors(Relu with { Network = Networks.NetworkSpec.Mlp([16, 16], Networks.Activation.Sigmoid), BatchSize = 100, Shuffle = true, HistoryPerEpoch = true }));
        var (x, y) = TitanicLikeData.Generate(30, 1);
        Assert.Empty(Errors(Relu with { X = x, Y = y, Features = 6, Network = Networks.NetworkSpec.Linear(), Loss = new LossSpec(LossKind.Bce), Standardize = true }));
    }

    public static TheoryData<string, string, FitProblem> Invalid() => new()
    {
        { "model.units", "between 1 and 1024", Relu with { Network = Networks.NetworkSpec.Relu(0) } },
        { "model.units", "between 1 and 1024", Relu with { Network = Networks.NetworkSpec.Relu(1025) } },
        { "model.layers", "between 1 and 8 layers", Relu with { Network = Networks.NetworkSpec.Mlp([], Networks.Activation.Tanh) } },
        { "model.layers", "layer 1 has 0 units", Relu with { Network = Networks.NetworkSpec.Mlp([4, 0], Networks.Activation.Tanh) } },
        { "model.activation", "relu, tanh or sigmoid", Relu with { Network = Networks.NetworkSpec.Mlp([4], (Networks.Activation)7) } },
        { "model", "at most 1000000", Relu with { Network = Networks.NetworkSpec.Mlp([1024, 1024], Networks.Activation.Tanh) } },
        { "features", "between 1 and 1024", Relu with { Features = 0 } },
        { "x", "not a whole number of rows of 3", Relu with { Features = 3 } },
        { "y", "differs from the number of rows of x (10)", Relu with { Features = 2 } },
        { "y", "in [0, 1] for loss bce", Relu with { Loss = new LossSpec(LossKind.Bce) } },
        { "initialParams", "network's number of params (13", Relu with { InitialParams = [1, 2, 3] } },
        { "batchSize", "≥ 1", Relu with { BatchSize = 0 } },
        { "batchSize", "only to the network models", Polynomial with { BatchSize = 5 } },
        { "shuffle", "only to the network models", Polynomial with { Shuffle = true } },
        { "standardize", "only to the network models", Polynomial with { Standardize = true } },
        { "historyPer", "only to the network models", Polynomial with { HistoryPerEpoch = true } },
        { "features", "only to the network models", Polynomial with { Features = 2, X = [.. Polynomial.X, .. Polynomial.X] } },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void AnInvalidNetworkFieldIsNamedWithItsRule(string field, string rule, FitProblem problem)
    {
        var errors = Errors(problem);
        Assert.Contains(errors, e => e.Field == field && e.Message.Contains(rule, StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => Fitter.Run(problem));
    }
}
