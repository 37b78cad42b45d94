namespace FitService.Engine.Tests;

/// <summary>What a run returns: history, stop reasons, divergence, progress, cancellation, determinism.</summary>
public class FitterTests
{
    private static FitProblem Lesson(LossKind loss = LossKind.Mse, double lr = 0.01, int steps = 200, OptimizerSpec? optimizer = null) =>
        new(LessonData.X, LessonData.Y, 2, new LossSpec(loss), lr, steps, LessonData.InitialParams, optimizer);

    private static long[] Bits(FitResult r) =>
        [.. r.History.Concat(r.Params).Append(r.Loss).Select(BitConverter.DoubleToInt64Bits)];

    [Fact]
    public void SameProblemGivesBitIdenticalResults()
    {
        var problem = Lesson(LossKind.Huber, optimizer: new AdamSpec()) with { Steps = 5000 };
        var progressCalls = 0;
        var a = Fitter.Run(problem);
        var b = Fitter.Run(problem, _ => progressCalls++, TimeSpan.Zero);
        Assert.Equal(Bits(a), Bits(b));
        Assert.True(progressCalls > 0);
    }

    [Fact]
    public void HistoryHoldsTheLossBeforeEachUpdateAndLossIsAfterTheLast()
    {
        var result = Fitter.Run(Lesson(steps: 3));
        Assert.Equal(3, result.History.Length);
        Assert.Equal(Fitter.Evaluate(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mse), LessonData.InitialParams), result.History[0]);
        Assert.Equal(Fitter.Evaluate(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mse), result.Params), result.Loss);
        Assert.True(result.Loss < result.History[^1]);
    }

    [Fact]
    public void HistoryEveryKRecordsEveryKthStepAndChangesNothingElse()
    {
        var full = Fitter.Run(Lesson(steps: 100));
        var sparse = Fitter.Run(Lesson(steps: 100) with { HistoryEvery = 7 });
        Assert.Equal(full.History.Where((_, i) => i % 7 == 0), sparse.History);
        Assert.Equal(15, sparse.History.Length);
        Assert.Equal(full.Params, sparse.Params);
        Assert.Equal(full.Loss, sparse.Loss);
    }

    [Fact]
    public void TooLargeARateDivergesWithHistoryAndASuggestionThatWorks()
    {
        var result = Fitter.Run(Lesson(lr: 5, steps: 1000));

        Assert.Equal(StopReason.Diverged, result.StopReason);
        Assert.True(result.Step < 1000);
        Assert.All(result.History, l => Assert.True(double.IsFinite(l)));
        Assert.All(result.Params, p => Assert.True(double.IsFinite(p)));
        Assert.NotNull(result.SuggestedLearningRate);
        Assert.Contains("the learning rate 5 is too large", result.Error);
        Assert.Contains($"try {result.SuggestedLearningRate!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)} or smaller", result.Error);

        var retry = Fitter.Run(Lesson(lr: result.SuggestedLearningRate.Value, steps: 1000));
        Assert.Equal(StopReason.Steps, retry.StopReason);
        Assert.True(retry.Loss < retry.History[0]);
    }

    [Fact]
    public void MseSuggestionIsBelowTheStabilityBoundOfTheHessian()
    {
        var lambda = LearningRateAdvice.LargestHessianEigenvalue(LessonData.X, 2);
        var suggested = LearningRateAdvice.Suggest(Lesson(lr: 5), 5);
        Assert.InRange(suggested, 0.5 / lambda, 1.0 / lambda);
        // Above 2/λmax plain gradient descent on MSE must diverge; below it must not.
        Assert.Equal(StopReason.Diverged, Fitter.Run(Lesson(lr: 2.5 / lambda, steps: 5000)).StopReason);
        var below = Fitter.Run(Lesson(lr: 1.9 / lambda, steps: 5000));
        Assert.Equal(StopReason.Steps, below.StopReason);
        Assert.True(below.Loss < below.History[0]);
    }

    [Fact]
    public void AdamIsSuggestedARateWhoseWholeRunStaysFinite()
    {
        // A tenth of 1e306 would blow up again: Adam moves each param by about the rate, whatever the gradient.
        var result = Fitter.Run(Lesson(LossKind.Mse, lr: 1e306, steps: 100, optimizer: new AdamSpec()));
        Assert.Equal(StopReason.Diverged, result.StopReason);

        var refit = Fitter.Run(Lesson(LossKind.Mse, lr: result.SuggestedLearningRate!.Value, steps: 100, optimizer: new AdamSpec()));

        Assert.Equal(StopReason.Steps, refit.StopReason);
    }

    [Fact]
    public void MaeWithTooLargeARateOscillatesButStaysFinite()
    {
        // The lesson's point: too large a rate never settles, though MAE's bounded gradient keeps it finite.
        var result = Fitter.Run(Lesson(LossKind.Mae, lr: 5, steps: 200));
        Assert.Equal(StopReason.Steps, result.StopReason);
        Assert.True(result.History[100..].Min() > result.History[0]);
    }

    [Fact]
    public void LossBelowStopsAtTheFirstLossUnderTheThreshold()
    {
        var full = Fitter.Run(Lesson(steps: 300));
        var threshold = full.History[120];
        var result = Fitter.Run(Lesson(steps: 300) with { Stop = new StopSpec(LossBelow: threshold) });

        var first = Array.FindIndex(full.History, l => l < threshold);
        Assert.Equal(StopReason.Converged, result.StopReason);
        Assert.Equal(first, result.Step);
        Assert.Equal(full.History[..first], result.History);
        Assert.Equal(full.History[first], result.Loss);
    }

    [Fact]
    public void MinImprovementStopsAfterPatienceStepsWithoutEnoughGain()
    {
        var result = Fitter.Run(Lesson(steps: 100_000) with { Stop = new StopSpec(MinImprovement: 1e-6, Patience: 5) });
        Assert.Equal(StopReason.Converged, result.StopReason);
        Assert.True(result.Step < 100_000);
        // The last 5 losses (the 4 recorded and the final one) all failed to beat the best by 1e-6.
        var best = result.History[..^4].Min();
        Assert.All(result.History[^4..].Append(result.Loss), l => Assert.True(l >= best - 1e-6));
    }

    [Fact]
    public void CancelledTokenEndsTheRunWithTheProgressSoFar()
    {
        using var cts = new CancellationTokenSource();
        var reports = new List<FitProgress>();
        var result = Fitter.Run(Lesson(steps: 10_000_000), p => { reports.Add(p); if (reports.Count == 2) cts.Cancel(); }, TimeSpan.Zero, cancellationToken: cts.Token);

        Assert.Equal(StopReason.Cancelled, result.StopReason);
        Assert.Equal(result.Step, result.History.Length);
        Assert.True(result.Step >= reports[^1].Step);
        Assert.Equal(reports[^1].History, result.History[..reports[^1].History.Length]);
    }

    [Fact]
    public void ProgressIsThrottledAndSnapshotsAreConsistent()
    {
        var reports = new List<FitProgress>();
        Fitter.Run(Lesson(steps: 200_000), reports.Add, TimeSpan.FromHours(1));
        Assert.Empty(reports);

        Fitter.Run(Lesson(steps: 200_000), reports.Add, TimeSpan.Zero);
        Assert.NotEmpty(reports);
        Assert.All(reports, r =>
        {
            Assert.Equal(r.Step, r.History.Length);
            Assert.Equal(r.History[^1], r.Loss);
            Assert.Equal(3, r.Params.Length);
        });
    }

    [Fact]
    public void ZeroInitialParamsByDefaultAndPlainSgdByDefault()
    {
        var result = Fitter.Run(new FitProblem(LessonData.X, LessonData.Y, 1, new LossSpec(LossKind.Mse), 0.01, 1));
        Assert.Equal(Fitter.Evaluate(LessonData.X, LessonData.Y, 1, new LossSpec(LossKind.Mse), [0.0, 0.0]), result.History[0]);
        Assert.Equal(Fitter.Run(new FitProblem(LessonData.X, LessonData.Y, 1, new LossSpec(LossKind.Mse), 0.01, 1, [0, 0], new SgdSpec())).Params, result.Params);
    }

    [Fact]
    public void AMillionPointsFitInBoundedMemory()
    {
        var n = 1_000_000;
        var x = Enumerable.Range(0, n).Select(i => -2 + 4.0 * i / (n - 1)).ToArray();
        var y = x.Select(v => 3 * v * v + 2 * v + 1).ToArray();
        var result = Fitter.Run(new FitProblem(x, y, 2, new LossSpec(LossKind.Mse), 0.05, 3));
        Assert.Equal(StopReason.Steps, result.StopReason);
        Assert.True(result.Loss < result.History[0]);
    }
}
