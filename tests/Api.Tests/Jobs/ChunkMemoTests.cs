using FitService.Api.Jobs;
using FitService.Api.Storage;
using FitService.Api.Fits;
using FitService.Engine;
using FitService.Engine.Exact;

namespace FitService.Api.Tests.Jobs;

/// <summary>What a chunk's fits share is worked out once, and only what is the same bit for bit is shared.</summary>
public class ChunkMemoTests
{
    private static FitPoints Lesson() => new(LessonData.X, LessonData.Y);

    [Fact]
    public void PointsWithTheSameBitsAreTheFirstSeenAndOthersAreTheirOwn()
    {
        var memo = new ChunkMemo();
        var first = Lesson();
        Assert.Same(first, memo.Points(first));
        Assert.Same(first, memo.Points(Lesson()));

        // −0 and 0 compare equal as numbers but not as bits, and the engine may tell them apart (a sign, 1/x): not merged.
        var negativeZero = new FitPoints([-0.0, 1, 2], [1, 2, 3]);
        var zero = new FitPoints([0.0, 1, 2], [1, 2, 3]);
        Assert.Same(negativeZero, memo.Points(negativeZero));
        Assert.Same(zero, memo.Points(zero));
        Assert.Same(zero, memo.Points(new FitPoints([0.0, 1, 2], [1, 2, 3])));

        // Weights are part of the points: the same x and y with and without them, or with others, are not the same.
        var weighted = new FitPoints(LessonData.X, LessonData.Y, [.. LessonData.X.Select(_ => 2.0)]);
        Assert.Same(weighted, memo.Points(weighted));
        Assert.Same(weighted, memo.Points(weighted with { Weights = [.. weighted.Weights!] }));
        var reweighted = weighted with { Weights = [.. LessonData.X.Select(_ => 3.0)] };
        Assert.Same(reweighted, memo.Points(reweighted));

        // x and y are told apart: the same values swapped are other points.
        var swapped = new FitPoints([1, 2, 3], [-0.0, 1, 2]);
        Assert.Same(swapped, memo.Points(swapped));
    }

    [Fact]
    public void AtMostMaxEntriesPointsAreKeptAndTheRestPassThrough()
    {
        var memo = new ChunkMemo();
        var kept = Enumerable.Range(0, ChunkMemo.MaxEntries).Select(i => new FitPoints([i, 1], [0, 1])).ToArray();
        foreach (var points in kept) Assert.Same(points, memo.Points(points));

        var more = new FitPoints([-1, 1], [0, 1]);
        Assert.Same(more, memo.Points(more));
        // Not kept: the same values again are their own array, still equal to what the fit gave.
        var again = new FitPoints([-1, 1], [0, 1]);
        Assert.Same(again, memo.Points(again));
        Assert.All(kept, points => Assert.Same(points, memo.Points(new FitPoints([.. points.X], [.. points.Y]))));
    }

    [Fact]
    public void AnOptimumIsSolvedOncePerPointsDegreeAndLoss()
    {
        var memo = new ChunkMemo();
        var points = memo.Points(Lesson());
        var solves = 0;
        ExactOptimum Solve(int degree, LossSpec loss)
        {
            return memo.Optimum(points, degree, loss, () =>
            {
                solves++;
                return ExactSolver.Solve(points.X, points.Y, degree, loss);
            });
        }

        var mae = Solve(2, new LossSpec(LossKind.Mae));
        Assert.Same(mae, Solve(2, new LossSpec(LossKind.Mae)));
        Assert.Equal(ExactSolver.Solve(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mae)).Params, mae.Params);
        Solve(1, new LossSpec(LossKind.Mae));
        Solve(2, new LossSpec(LossKind.Huber, 0.5));
        Solve(2, new LossSpec(LossKind.Huber, 2.0));
        Assert.Same(mae, Solve(2, new LossSpec(LossKind.Mae)));
        Assert.Equal(4, solves);
        Assert.Equal(4, memo.OptimaSolved);

        // Other points (even with the same values but not from Points) are solved for themselves.
        memo.Optimum(Lesson(), 2, new LossSpec(LossKind.Mae), () => { solves++; return mae; });
        Assert.Equal(5, solves);
    }

    [Fact]
    public void ASolverRefusalIsNotKeptButThrownToEachFitThatAsks()
    {
        var memo = new ChunkMemo();
        var points = memo.Points(Lesson());
        var calls = 0;
        for (var i = 0; i < 2; i++)
            Assert.Throws<ExactSolverException>(() => memo.Optimum(points, 2, new LossSpec(LossKind.Mae), () =>
            {
                calls++;
                throw new ExactSolverException("refused");
            }));
        Assert.Equal(2, calls);
    }

    [Fact]
    public void ASpecIsReadOnceForTheSameRowText()
    {
        var memo = new ChunkMemo();
        var row = StoredSpecs.Write(new FitSpec { Degree = 2, Loss = "mae", Steps = 10, Points = 3, HistoryEvery = 1 });
        var spec = memo.Spec(row);
        Assert.Same(spec, memo.Spec(row));
        Assert.Equal(StoredSpecs.Content(StoredSpecs.Read<FitSpec>(row)), StoredSpecs.Content(spec));
        var other = memo.Spec(StoredSpecs.Write(new FitSpec { Degree = 1, Loss = "mae", Steps = 10, Points = 3, HistoryEvery = 1 }));
        Assert.Equal(1, other.Degree);
    }

    [Fact]
    public void ScaledXIsMadeOnceForTheSameArrayAndScaling()
    {
        var memo = new ChunkMemo();
        double[] x = [0, 1, 2, 4];
        var scaled = memo.Scaled(x, new XScaling(2, 2));
        Assert.Equal([-1.0, -0.5, 0, 1], scaled);
        Assert.Same(scaled, memo.Scaled(x, new XScaling(2, 2)));
        Assert.NotSame(scaled, memo.Scaled(x, new XScaling(1, 3)));
        Assert.NotSame(scaled, memo.Scaled([.. x], new XScaling(2, 2)));
    }
}
