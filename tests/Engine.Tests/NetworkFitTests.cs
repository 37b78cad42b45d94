using FitService.Engine.Exact;
using FitService.Engine.Networks;

namespace FitService.Engine.Tests;

/// <summary>Network fits as a caller sees them: params by layer, predictions, standardization, batches, reruns, limits.</summary>
public class NetworkFitTests
{
    private static FitProblem Lesson(NetworkSpec network, int steps = 50, double rate = 0.01) =>
        new(LessonData.X, LessonData.Y, 0, new LossSpec(LossKind.Mse), rate, steps, Network: network, Seed: 1);

    [Fact]
    public void ParamsByLayerAreNamedAndShapedAsNnSequentialsStateDict()
    {
        var network = NetworkSpec.Mlp([16, 16], Activation.Tanh);
        var count = network.ParameterCount(3);
        Assert.Equal(3 * 16 + 16 + 16 * 16 + 16 + 16 + 1, count);
        var layers = network.ByLayer(3, [.. Enumerable.Range(0, count).Select(k => (double)k)]);

        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"], layers.Select(l => l.Name));
        Assert.Equal([(16, 3), (16, 1), (16, 16), (16, 1), (1, 16), (1, 1)], layers.Select(l => (l.Rows, l.Columns)));
        Assert.Equal(3 * 16.0, layers[1].Values[0]);     // the bias follows the weight in the flat params
        Assert.Equal(count - 1.0, layers[5].Values[0]);
    }

    [Fact]
    public void ReluParamsAreSlopesThenInterceptsThenOutputWeightsThenTheConstant()
    {
        // y = 2·relu(1·x − 0.5) − 3·relu(−1·x + 0) + 0.25
        double[] p = [1, -1, -0.5, 0, 2, -3, 0.25];
        double[] x = [-2, 0, 0.5, 1, 3];
        var predicted = Network.Predict(NetworkSpec.Relu(2), 1, p, x);
        Assert.Equal(x.Select(v => 2 * Math.Max(v - 0.5, 0) - 3 * Math.Max(-v, 0) + 0.25), predicted);
    }

    [Fact]
    public void TheUnitsContributionsAndTheOutputBiasAddUpToThePrediction()
    {
        var network = NetworkSpec.Relu(8);
        var p = Network.InitialParams(network, 1, seed: 21);
        var contributions = Network.UnitContributions(network, 1, p, LessonData.X);
        var predicted = Network.Predict(network, 1, p, LessonData.X);
        Assert.Equal(8, contributions.Length);
        for (var r = 0; r < predicted.Length; r++)
            Assert.Equal(predicted[r], contributions.Sum(c => c[r]) + p[^1], 1e-14);
        Assert.Equal(p[16] * Math.Max(p[0] * LessonData.X[3] + p[8], 0), contributions[0][3]);
    }

    [Theory]
    [InlineData(20, null, 1)]
    [InlineData(20, 6, 4)]
    [InlineData(20, 20, 1)]
    [InlineData(20, 500, 1)]   // larger than the data: one batch of all, as DataLoader
    [InlineData(401, 50, 9)]
    public void AnEpochHasCeilingOfPointsOverBatchSteps(int points, int? batch, int steps) =>
        Assert.Equal(steps, Network.StepsPerEpoch(points, batch));

    [Fact]
    public void InitializationIsPyTorchsUniformBoundPerLayerAndSeeded()
    {
        var network = NetworkSpec.Mlp([32, 4], Activation.Relu);
        var p = Network.InitialParams(network, 9, seed: 12);
        foreach (var block in network.Blocks(9))
        {
            var bound = 1 / Math.Sqrt(block.Name.StartsWith("0.") ? 9 : block.Name.StartsWith("2.") ? 32 : 4);
            var values = p.AsSpan(block.Offset, block.Length).ToArray();
            Assert.All(values, v => Assert.InRange(v, -bound, bound));
            if (values.Length >= 32) Assert.True(values.Max() - values.Min() > bound, $"{block.Name} should spread over its range");
        }
        Assert.Equal(p, Network.InitialParams(network, 9, seed: 12));
        Assert.NotEqual(p, Network.InitialParams(network, 9, seed: 13));
    }

    [Fact]
    public void StandardizationUsesThePopulationDeviationAndLeavesAConstantColumnUnscaled()
    {
        double[] x = [1, 5, 2, 5, 3, 5, 6, 5];   // column 0: 1, 2, 3, 6; column 1 constant
        var s = Standardization.Of(x, 2);
        Assert.Equal([3.0, 5.0], s.Means);
        Assert.Equal(Math.Sqrt((4 + 1 + 0 + 9) / 4.0), s.Scales[0], 15);
        Assert.Equal(1.0, s.Scales[1]);
        Assert.Equal([(1 - 3) / s.Scales[0], 0.0], s.Apply(x)[..2]);
    }

    [Fact]
    public void PredictionsWithTheReportedStandardizationReproduceTheFinalLoss()
    {
        var (x, y) = TitanicLikeData.Generate(150, 4);
        var problem = new FitProblem(x, y, 0, new LossSpec(LossKind.Bce), 0.05, 40, Network: NetworkSpec.Mlp([6], Activation.Sigmoid),
            Features: 6, Standardize: true, Optimizer: new AdamSpec(), Seed: 2);
        var result = Fitter.Run(problem);

        Assert.NotNull(result.Standardization);
        var logits = Network.Predict(problem.Network!, 6, result.Params, x, result.Standardization);
        var loss = logits.Zip(y, Autodiff.BceWithLogitsRule.Bce).Average();
        Assert.Equal(result.Loss, loss, 1e-12);
        var probabilities = Network.Probabilities(logits);
        Assert.All(probabilities, q => Assert.InRange(q, 0, 1));
        Assert.Equal(1 / (1 + Math.Exp(-logits[0])), probabilities[0]);
    }

    [Fact]
    public void ARerunWithShuffledBatchesIsBitIdentical()
    {
        var problem = Lesson(NetworkSpec.Relu(8), 300) with { BatchSize = 6, Shuffle = true, Optimizer = new AdamSpec() };
        var (a, b) = (Fitter.Run(problem), Fitter.Run(problem));
        Assert.Equal(a.History, b.History);
        Assert.Equal(a.Params, b.Params);
        Assert.Equal(a.Loss, b.Loss);
        Assert.NotEqual(a.History, Fitter.Run(problem with { Seed = 2, InitialParams = a.InitialParams }).History);   // the seed drives the shuffle
    }

    [Fact]
    public void ABigBatchGivesTheSameBitsOnOneThreadAndOnTwo()
    {
        // 9,000 points in batches of 5,000 (4 chunks) and 4,000 (one): every pass's chunks are added in chunk order whoever ran them.
        var (x, y) = TitanicLikeData.Generate(9_000, 3);
        var problem = new FitProblem(x, y, 0, new LossSpec(LossKind.Bce), 0.01, 12, Network: NetworkSpec.Mlp([8, 4], Activation.Tanh),
            Features: 6, Standardize: true, BatchSize: 5_000, Shuffle: true, Optimizer: new AdamSpec(), Seed: 4);
        var one = Fitter.Run(problem, options: new FitRunOptions { MaxDegreeOfParallelism = 1 });
        for (var run = 0; run < 5; run++)
        {
            var two = Fitter.Run(problem with { Network = NetworkSpec.Mlp([8, 4], Activation.Tanh) }, options: new FitRunOptions { MaxDegreeOfParallelism = 2 });
            Assert.Equal(one.History, two.History);
            Assert.Equal(one.Params, two.Params);
            Assert.Equal(one.Loss, two.Loss);
        }
        var relu = problem with { Network = NetworkSpec.Relu(16), BatchSize = null };
        Assert.Equal(Fitter.Run(relu, options: new FitRunOptions { MaxDegreeOfParallelism = 1 }).Params, Fitter.Run(relu, options: new FitRunOptions { MaxDegreeOfParallelism = 2 }).Params);
    }

    [Fact]
    public void AnEpochsHistoryEntryIsItsBatchLossesWeightedByTheirPoints()
    {
        // 20 points in batches of 6: 6, 6, 6, 2 a epoch; 10 steps = two whole epochs and a partial one of 2 batches.
        var problem = Lesson(NetworkSpec.Relu(4), 10) with { BatchSize = 6, Shuffle = true };
        var perStep = Fitter.Run(problem).History;
        var perEpoch = Fitter.Run(problem with { HistoryPerEpoch = true }).History;

        Assert.Equal(10, perStep.Length);
        Assert.Equal(3, perEpoch.Length);
        double Epoch(int first, int[] sizes) => sizes.Select((n, k) => perStep[first + k] * n).Sum() / sizes.Sum();
        Assert.Equal(Epoch(0, [6, 6, 6, 2]), perEpoch[0], 1e-15);
        Assert.Equal(Epoch(4, [6, 6, 6, 2]), perEpoch[1], 1e-15);
        Assert.Equal(Epoch(8, [6, 6]), perEpoch[2], 1e-15);
    }

    [Fact]
    public void WithoutShuffleTheBatchesTakeThePointsInOrder()
    {
        // The first step's loss is the loss of the first 6 points at the initial params.
        var problem = Lesson(NetworkSpec.Relu(4), 1) with { BatchSize = 6 };
        var result = Fitter.Run(problem);
        var first = problem with { X = LessonData.X[..6], Y = LessonData.Y[..6], BatchSize = null };
        Assert.Equal(Network.Loss(first, result.InitialParams!), result.History[0], 1e-15);
    }

    [Fact]
    public void AShufflesOrderIsAPermutationThatChangesEveryEpoch()
    {
        var random = new NetworkRandom(5);
        var (first, second) = (new int[50], new int[50]);
        random.Permutation(first);
        random.Permutation(second);
        Assert.Equal(Enumerable.Range(0, 50), first.Order());
        Assert.Equal(Enumerable.Range(0, 50), second.Order());
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void TheLearningRateFinderSweepsANetworkOneLossPerUpdate()
    {
        // BCE batch losses start near log 2 whatever the batch, so the sweep runs until the rate grows too large.
        var (x, y) = TitanicLikeData.Generate(400, 6);
        var problem = new FitProblem(x, y, 0, new LossSpec(LossKind.Bce), 0.1, 10, Network: NetworkSpec.Relu(8), Features: 6, Standardize: true,
            BatchSize: 50, Shuffle: true, HistoryPerEpoch: true);
        var result = LearningRates.LearningRateFinder.Run(problem, new LearningRates.LearningRateSweep(Steps: 100));
        Assert.True(result.Losses.Length > 50, $"{result.Losses.Length} losses");
        Assert.NotNull(result.Steep);
    }

    [Fact]
    public void ACancelledNetworkFitEndsCancelledWithItsParams()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var result = Fitter.Run(Lesson(NetworkSpec.Relu(2)), cancellationToken: cancel.Token);
        Assert.Equal(StopReason.Cancelled, result.StopReason);
        Assert.Equal(0, result.Step);
        Assert.Equal(result.InitialParams, result.Params);
    }

    [Fact]
    public void ALongNetworkFitReportsProgress()
    {
        var reports = new List<FitProgress>();
        Fitter.Run(Lesson(NetworkSpec.Relu(2), 5_000, 0.001), reports.Add, TimeSpan.Zero);
        Assert.NotEmpty(reports);
        Assert.All(reports, r => Assert.Equal(7, r.Params.Length));
    }

    [Fact]
    public void ADivergingNetworkFitSuggestsASmallerRate()
    {
        var result = Fitter.Run(Lesson(NetworkSpec.Relu(8), 200, 1e6));
        Assert.Equal(StopReason.Diverged, result.StopReason);
        Assert.True(result.SuggestedLearningRate < 1e6);
        Assert.All(result.Params, p => Assert.True(double.IsFinite(p)));
    }

    [Fact]
    public void TheLessonsCurveIsFittedBetterWithMoreReLUs()
    {
        double Fit(int k) => Fitter.Run(Lesson(NetworkSpec.Relu(k), 3_000, 0.01) with { Optimizer = new AdamSpec() }).Loss;
        var (two, eight, thirtyTwo) = (Fit(2), Fit(8), Fit(32));
        // The lesson's noise (σ ≈ 1.5 plus 15 % of f) leaves an MSE near 2 for a good curve; two ReLUs (a V) cannot bend as a parabola does.
        Assert.True(eight < two, $"8 ReLUs {eight} vs 2 {two}");
        Assert.True(thirtyTwo < 3.0, $"32 ReLUs {thirtyTwo}");
    }

    [Fact]
    public void TheExactSolverGivesTheLinearModelsLeastSquaresAndDeclinesOtherNetworks()
    {
        // y = 2·x0 − 3·x1 + 0.5·x2 + 4 exactly, on rows far from 0 and of mixed scale.
        var random = new NetworkRandom(9);
        var x = Enumerable.Range(0, 3 * 40).Select(k => (k % 3 == 1 ? 1000 : 1) * (5 + random.Uniform())).ToArray();
        var y = Enumerable.Range(0, 40).Select(i => 2 * x[3 * i] - 3 * x[3 * i + 1] + 0.5 * x[3 * i + 2] + 4).ToArray();
        var problem = new FitProblem(x, y, 0, new LossSpec(LossKind.Mse), 0.1, 1, Network: NetworkSpec.Linear(), Features: 3);

        Assert.Null(ExactSolver.NotApplicable(problem));
        var optimum = ExactSolver.SolveLinear(problem);
        double[] expected = [2, -3, 0.5, 4];
        for (var k = 0; k < 4; k++) Assert.Equal(expected[k], optimum.Params[k], 1e-6 * Math.Max(1, Math.Abs(expected[k])));
        Assert.True(optimum.Loss < 1e-12, $"loss {optimum.Loss}");

        Assert.Contains("does not apply", ExactSolver.NotApplicable(problem with { Network = NetworkSpec.Relu(4) }));
        Assert.Contains("only with loss mse", ExactSolver.NotApplicable(problem with { Loss = new LossSpec(LossKind.Mae) }));
        Assert.Throws<ExactSolverException>(() => ExactSolver.SolveLinear(problem with { Network = NetworkSpec.Relu(4) }));
        Assert.Throws<ExactSolverException>(() => ExactSolver.Solve(LessonData.X, [.. LessonData.Y.Select(v => v > 3 ? 1.0 : 0.0)], 2, new LossSpec(LossKind.Bce)));
    }

    [Fact]
    public void TheExactLinearOptimumIsNoWorseThanALongDescent()
    {
        var (x, y) = TitanicLikeData.Generate(300, 8);
        var problem = new FitProblem(x, y, 0, new LossSpec(LossKind.Mse), 0.1, 3_000, Network: NetworkSpec.Linear(), Features: 6, Standardize: true);
        var descent = Fitter.Run(problem);
        var optimum = ExactSolver.SolveLinear(problem);
        Assert.True(optimum.Loss <= descent.Loss * (1 + 1e-12), $"exact {optimum.Loss}, descent {descent.Loss}");
        Assert.True(descent.Loss - optimum.Loss < 1e-6, $"a converged descent reaches it: exact {optimum.Loss}, descent {descent.Loss}");
    }
}
