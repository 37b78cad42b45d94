using FitService.Engine.Autodiff;

namespace FitService.Engine.Tests;

/// <summary>
/// The step loop allocates nothing. Alone in their collection: tests running beside them keep the JIT busy,
/// which delays tiered promotion into the measured run. The least of a few tries is taken: a garbage
/// collection during a run (a big fit copies megabytes of points) makes the thread's count off by a few KB,
/// while an allocating loop would add its bytes to every try.
/// </summary>
[Collection(nameof(AllocationTests))]
public class AllocationTests
{
    [Fact]
    public void TheStepLoopAllocatesNothing()
    {
        var problem = new FitProblem(LessonData.X, LessonData.Y, 2, new LossSpec(LossKind.Mse), 0.01, 10, LessonData.InitialParams, HistoryEvery: 1_000_000);
        Fitter.Run(problem); // compile and warm up
        long Allocated(int steps)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            Fitter.Run(problem with { Steps = steps });
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        // A long run first, so tiered compilation has promoted every method the loop calls (a one-off cost, not per step).
        Allocated(200_000);
        Allocated(10);
        // Only an upper bound: a one-off allocation in the short run (a pool growing, a late JIT) makes the difference
        // negative, never an allocating loop, which adds its bytes to every step of the long run.
        var extra = Enumerable.Range(0, 3).Min(_ => Allocated(400_000) - Allocated(10));
        Assert.True(extra <= 1024, $"400,000 steps allocated {extra} bytes more than 10");
    }

    [Fact]
    public void ANetworksStepLoopWithShuffledBatchesAllocatesNothing()
    {
        var problem = new FitProblem(LessonData.X, LessonData.Y, 0, new LossSpec(LossKind.Mse), 0.001, 10, HistoryEvery: 1_000_000,
            Network: Networks.NetworkSpec.Mlp([8, 8], Networks.Activation.Tanh), BatchSize: 6, Shuffle: true, Seed: 3);
        long Allocated(int steps)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            Fitter.Run(problem with { Steps = steps });
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Allocated(50_000);
        Allocated(10);
        var extra = Enumerable.Range(0, 3).Min(_ => Allocated(50_000) - Allocated(10));
        Assert.True(extra <= 1024, $"50,000 steps allocated {extra} bytes more than 10");
    }

    [Fact]
    public void AChunkedNetworkStepOnTwoThreadsAllocatesNothingOnTheCallingThread()
    {
        var (x, y) = ParallelStepTests.Points(8_192);
        var problem = new FitProblem(x, y, 0, new LossSpec(LossKind.Mse), 1e-4, 10, HistoryEvery: 1_000_000, Network: Networks.NetworkSpec.Relu(8));
        long Allocated(int steps)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            Fitter.Run(problem with { Steps = steps }, options: new FitRunOptions { MaxDegreeOfParallelism = 2 });
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Allocated(2_000);
        Allocated(10);
        var extra = Enumerable.Range(0, 3).Min(_ => Allocated(2_010) - Allocated(10));
        Assert.True(extra <= 1024, $"2,010 steps allocated {extra} bytes more than 10");
    }

    [Fact]
    public void ABigFitsStepLoopAllocatesNothingOnTheCallingThread()
    {
        var (x, y) = ParallelStepTests.Points(FusedKernel.ChunkedFrom);
        var problem = new FitProblem(x, y, 2, new LossSpec(LossKind.Mse), 1e-3, 10, HistoryEvery: 1_000_000);
        long Allocated(int steps)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            Fitter.Run(problem with { Steps = steps }, options: new FitRunOptions { MaxDegreeOfParallelism = 2 });
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        // Long runs first, so tiered compilation has promoted every method the loop calls (a one-off cost, not per step).
        Allocated(2_000);
        Allocated(10);
        var extra = Enumerable.Range(0, 3).Min(_ => Allocated(2_010) - Allocated(10));
        Assert.True(extra <= 1024, $"2,010 steps allocated {extra} bytes more than 10");
    }
}

/// <summary>Runs <see cref="AllocationTests"/> after the other tests, alone.</summary>
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public class AllocationTestsCollection;
