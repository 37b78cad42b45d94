using FitService.Engine.Autodiff;

namespace FitService.Engine.Tests;

/// <summary>The chunk runner when a helper loses its core in the middle of a chunk (simulated: the helper's chunk blocks).</summary>
public class ChunkRunnerTests
{
    private const int Points = FusedKernel.Chunks * 8; // chunk c starts at point 8c
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void AHelperStuckInAChunkNeitherStallsThePassNorCorruptsTheNext()
    {
        var caller = Environment.CurrentManagedThreadId;
        using var helperInChunk = new ManualResetEventSlim();
        using var releaseHelper = new ManualResetEventSlim();
        using var helperReturned = new ManualResetEventSlim();
        var helperBlocked = 0;

        // A chunk's "sum" is its first point times the state's multiplier: pass 1 multiplies by 1, pass 2 by 2.
        void Loop(double[][] vectors, double[] state, double[] partials, int offset, int start, int end)
        {
            var multiplier = state[0];
            var onCaller = Environment.CurrentManagedThreadId == caller;
            if (onCaller && multiplier == 1 && start == 0)
                Assert.True(helperInChunk.Wait(Patience), "no helper took a chunk"); // make sure a helper holds one
            if (!onCaller && multiplier == 1 && Interlocked.Exchange(ref helperBlocked, 1) == 0)
            {
                helperInChunk.Set();
                releaseHelper.Wait(Patience); // descheduled mid-chunk, as far as the caller can tell
                for (var k = 0; k < 4; k++) partials[offset + k] = start * multiplier;
                helperReturned.Set(); // its stale result is published (or dropped) right after this
                return;
            }
            if (onCaller && multiplier == 2 && start == Points - 8)
            {
                // The stuck helper finishes its pass-1 chunk during pass 2, after that chunk's pass-2 result is in.
                releaseHelper.Set();
                Assert.True(helperReturned.Wait(Patience), "the helper did not finish its chunk");
                Thread.SpinWait(100_000);
            }
            for (var k = 0; k < 4; k++) partials[offset + k] = start * multiplier;
        }

        var runner = new ChunkRunner(Loop, Loop, [], Points, stateSlots: 1, accumulators: 1, maxDegreeOfParallelism: 2);
        var expected = Enumerable.Range(0, FusedKernel.Chunks).Sum(c => 8.0 * c);

        runner.State[0] = 1;
        runner.Run(backward: false);
        Assert.Equal(1, helperBlocked);
        Assert.Equal(expected, runner.Totals[0]);

        runner.State[0] = 2;
        runner.Run(backward: false);
        Assert.Equal(2 * expected, runner.Totals[0]);
    }
}
