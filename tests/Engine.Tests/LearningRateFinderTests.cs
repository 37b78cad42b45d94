using FitService.Engine.Exact;
using FitService.Engine.LearningRates;

namespace FitService.Engine.Tests;

public class LearningRateFinderTests
{
    public static TheoryData<string> MseProblems() => ["lesson degree 2", "cubic on [-1.5, 1.5]", "line on [0, 10]"];

    private static FitProblem Mse(string name)
    {
        switch (name)
        {
            case "lesson degree 2":
                return new FitProblem(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mse), 1, 1, [1.1, 1.1, 1.1]);
            case "cubic on [-1.5, 1.5]":
            {
                var x = Enumerable.Range(0, 100).Select(i => -1.5 + 3.0 * i / 99).ToArray();
                var y = x.Select((v, i) => 0.5 * v * v * v - v * v + 2 * v + 1 + 0.3 * Math.Sin(12.9898 * i)).ToArray();
                return new FitProblem(x, y, 3, new LossSpec(LossKind.Mse), 1, 1);
            }
            default:
            {
                var x = Enumerable.Range(0, 50).Select(i => 10.0 * i / 49).ToArray();
                var y = x.Select((v, i) => 2 * v - 3 + Math.Sin(7.1 * i)).ToArray();
                return new FitProblem(x, y, 1, new LossSpec(LossKind.Mse), 1, 1);
            }
        }
    }

    [Theory]
    [MemberData(nameof(MseProblems))]
    public void BothSuggestionsAreBelowTheStableBoundAndAFitWithThemConverges(string name)
    {
        var problem = Mse(name);
        var bound = 2 / LearningRateAdvice.LargestHessianEigenvalue(problem.X, problem.Degree);

        var found = LearningRateFinder.Run(problem);

        Assert.NotNull(found.Steep);
        Assert.NotNull(found.Minimum);
        Assert.True(found.Steep < bound, $"steep {found.Steep} ≥ 2/λmax = {bound}");
        Assert.True(found.Minimum < bound, $"minimum/10 {found.Minimum} ≥ 2/λmax = {bound}");
        Assert.NotEqual("steps", found.StopReason); // the sweep to 10 goes well past the bound and stops on the explosion

        var optimum = ExactSolver.Solve(problem.X, problem.Y, problem.Degree, problem.Loss);
        var start = Fitter.Evaluate(problem.X, problem.Y, problem.Degree, problem.Loss, problem.InitialParams ?? new double[problem.Degree + 1]);
        var fit = Fitter.Run(problem with { LearningRate = found.Suggested!.Value, Steps = 20_000 });
        Assert.Equal(StopReason.Steps, fit.StopReason);
        // Converges: the loss falls monotonically from the start and closes most of the distance to the optimum.
        Assert.All(fit.History.Zip(fit.History.Skip(1)), pair => Assert.True(pair.Second <= pair.First * (1 + 1e-12)));
        Assert.True(fit.Loss - optimum.Loss <= 0.05 * (start - optimum.Loss), $"loss {fit.Loss}, optimum {optimum.Loss}, start {start}");
    }

    [Fact]
    public void RatesGrowExponentiallyFromStartAsFastaiSchedulesThem()
    {
        var found = LearningRateFinder.Run(Mse("lesson degree 2"), new LearningRateSweep(1e-6, 1e-2, Steps: 40));

        Assert.Equal("steps", found.StopReason); // 1e-2 is stable for this problem
        Assert.Equal(40, found.LearningRates.Length);
        Assert.Equal(1e-6, found.LearningRates[0]);
        for (var i = 0; i < 40; i++) Assert.Equal(1e-6 * Math.Pow(1e4, i / 40.0), found.LearningRates[i], 1e-12 * found.LearningRates[i] * 10);
        // The debiased moving average of the first loss is that loss.
        Assert.Equal(found.Losses[0], found.SmoothedLosses[0], 12);
    }

    [Fact]
    public void TheSweepStopsWhenTheSmoothedLossExceedsFourTimesItsBest()
    {
        var found = LearningRateFinder.Run(Mse("lesson degree 2"));

        var best = found.SmoothedLosses[..^1].Min();
        Assert.True(found.SmoothedLosses[^1] > 4 * best || found.StopReason == "diverged");
        Assert.All(found.SmoothedLosses[..^1], s => Assert.True(s <= 4 * found.SmoothedLosses.Min()));
        Assert.True(found.LearningRates.Length < 100);
    }

    [Fact]
    public void SuggestionsReadTheCurveAsFastaiDoes()
    {
        // A made-up curve over 100 rates: flat, falling fastest from index 40 to 41, lowest at 60, then rising.
        var rates = Enumerable.Range(0, 100).Select(i => 1e-7 * Math.Pow(1e8, i / 100.0)).ToArray();
        var smoothed = Enumerable.Range(0, 100).Select(i => i < 60 ? 10 - 5 * Math.Tanh((i - 40.5) / 5.0) - 0.01 * i : 5.0 + 0.5 * (i - 60)).ToArray();

        var (steep, minimum) = LearningRateFinder.Suggest(rates, smoothed, 100);

        Assert.Equal(rates[40], steep!.Value, 1e-20); // the rate at the start of the steepest segment, as fastai's lrs[grads.argmin()]
        var lowest = Array.IndexOf(smoothed, smoothed[10..95].Min());
        Assert.Equal(rates[lowest] / 10, minimum!.Value, 1e-20);
    }

    [Fact]
    public void TheFinderRunsEveryOptimizerAndFormulaModels()
    {
        var adam = LearningRateFinder.Run(LessonData.Problem() with { Optimizer = new AdamSpec() });
        Assert.NotNull(adam.Suggested);
        var formula = Formulas.Formula.Parse("a*x^2 + b*x + c", ["a", "b", "c"]);
        var viaFormula = LearningRateFinder.Run(LessonData.Problem() with { Formula = formula });
        var viaPolynomial = LearningRateFinder.Run(LessonData.Problem());
        Assert.Equal(viaPolynomial.Suggested!.Value, viaFormula.Suggested!.Value, 1e-9 * viaPolynomial.Suggested.Value);
    }
}
