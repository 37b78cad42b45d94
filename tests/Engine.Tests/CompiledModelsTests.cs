using FitService.Engine.Formulas;

namespace FitService.Engine.Tests;

/// <summary>Compiled models kept between runs: each run gives the bits it gives alone, and a model is compiled once per points.</summary>
public class CompiledModelsTests
{
    private static long[] Bits(FitResult r) =>
        [.. r.History.Concat(r.Params).Append(r.Loss).Select(BitConverter.DoubleToInt64Bits)];

    /// <summary>Problems on the lesson's arrays that differ in everything a kept graph must not carry from one run to the next.</summary>
    private static FitProblem[] Sweep(double[] x, double[] y, double[]? weights = null) =>
    [
        new(x, y, 2, new LossSpec(LossKind.Mae), 0.01, 100, [1.1, 1.1, 1.1], Weights: weights),
        new(x, y, 2, new LossSpec(LossKind.Mae), 0.05, 60, [-3, 0.5, 2], new AdamSpec(), Weights: weights),
        new(x, y, 2, new LossSpec(LossKind.Mae), 0.2, 10, Weights: weights),
        new(x, y, 2, new LossSpec(LossKind.Mae), 50, 100, [1, 1, 1], Weights: weights), // diverges part way
        new(x, y, 2, new LossSpec(LossKind.Mae), 0.01, 100, [1.1, 1.1, 1.1], new SgdSpec(0.9, 0, true), new CosineSchedule(0.001),
            new StopSpec(null, 1e-3, 3), Weights: weights),
        new(x, y, 2, new LossSpec(LossKind.Huber, 0.5), 0.01, 80, [1.1, 1.1, 1.1], Weights: weights),
        new(x, y, 2, new LossSpec(LossKind.Huber, 2.0), 0.01, 80, [1.1, 1.1, 1.1], Weights: weights),
        new(x, y, 3, new LossSpec(LossKind.Mse), 0.001, 100, HistoryEvery: 7, Weights: weights),
        new(x, y, 0, new LossSpec(LossKind.Mse), 0.01, 50, [0.5, 0.1], Formula: Formula.Parse("a*exp(b*x)", ["a", "b"]), Weights: weights),
        new(x, y, 0, new LossSpec(LossKind.Mse), 0.01, 50, [0.5, 0.1], Formula: Formula.Parse("a*exp(b*x)", ["b", "a"]), Weights: weights),
        new(x, y, 2, new LossSpec(LossKind.Mae), 0.01, 100, [1.1, 1.1, 1.1], Weights: weights),
    ];

    [Fact]
    public void EveryRunGivesTheBitsItGivesAloneWhateverRanBeforeIt()
    {
        var weights = LessonData.X.Select((_, i) => 1.0 + i % 3).ToArray();
        var problems = Sweep(LessonData.X, LessonData.Y).Concat(Sweep(LessonData.X, LessonData.Y, weights)).ToArray();
        var models = new CompiledModels(capacity: 64);
        var options = new FitRunOptions { Models = models };

        // Forwards, then backwards: a graph is reused after runs of other params, optimizers and step counts.
        foreach (var problem in problems.Concat(problems.Reverse()))
            Assert.Equal(Bits(Fitter.Run(problem)), Bits(Fitter.Run(problem, options: options)));
        // One graph per model and loss on each set of points: MAE (degree 2), Huber 0.5 and 2, MSE degree 3, the two
        // formulas, with and without weights.
        Assert.Equal(2 * 6, models.Compiled);
    }

    [Fact]
    public void PointsAreMatchedByReferenceSoEqualValuesInOtherArraysCompileAgain()
    {
        var models = new CompiledModels();
        var options = new FitRunOptions { Models = models };
        var problem = new FitProblem(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mae), 0.01, 100, [1.1, 1.1, 1.1]);
        var copy = problem with { X = [.. problem.X] };

        Assert.Equal(Bits(Fitter.Run(problem, options: options)), Bits(Fitter.Run(copy, options: options)));
        Assert.Equal(2, models.Compiled);
        Fitter.Run(copy with { LearningRate = 0.02 }, options: options);
        Assert.Equal(2, models.Compiled);
    }

    [Fact]
    public void AtCapacityTheOldestGraphGoesFirst()
    {
        var models = new CompiledModels(capacity: 2);
        var options = new FitRunOptions { Models = models };
        double[] x = LessonData.X, y = LessonData.Y; // LessonData hands out a new copy each time
        FitProblem On(int degree) => new(x, y, degree, new LossSpec(LossKind.Mse), 0.001, 5);

        foreach (var degree in new[] { 1, 2, 1, 2, 3, 2, 1 }) Assert.Equal(Bits(Fitter.Run(On(degree))), Bits(Fitter.Run(On(degree), options: options)));
        // 1 and 2 compiled; 3 evicts 1 (2 stays, used again); 1 again evicts 2.
        Assert.Equal(4, models.Compiled);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompiledModels(0));
    }

    [Fact]
    public void NetworksAndBigFitsCompileAsWithoutIt()
    {
        var models = new CompiledModels();
        var network = new FitProblem(LessonData.X, LessonData.Y, 0, new LossSpec(LossKind.Mse), 0.01, 20,
            Network: new Networks.NetworkSpec(Networks.NetworkType.Mlp, [4], Networks.Activation.Tanh), Seed: 7);
        Assert.Equal(Bits(Fitter.Run(network)), Bits(Fitter.Run(network, options: new FitRunOptions { Models = models })));
        Assert.Equal(0, models.Compiled);
    }
}
