using FitService.Api.Webhooks;

namespace FitService.Api.Tests.Webhooks;

/// <summary>
/// The ends of a batch's fits share their "is any fit of the batch unfinished?" checks: many at once cost two queries,
/// and no caller is answered by a check that started before it asked (its own fit's end would be missed).
/// </summary>
public sealed class BatchUnfinishedChecksTests
{
    /// <summary>A batch whose answer the test sets, and whose checks it can hold before they answer.</summary>
    private sealed class Batch
    {
        public volatile bool Unfinished = true;
        public int Queries;
        public TaskCompletionSource Gate { get; set; } = Opened();

        public async Task<bool> HasUnfinishedAsync(string batchId)
        {
            // The query reads now; its answer is handed back when the gate opens.
            var answer = Unfinished;
            Interlocked.Increment(ref Queries);
            await Gate.Task;
            return answer;
        }

        public static TaskCompletionSource Opened()
        {
            var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            opened.SetResult();
            return opened;
        }
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition()) await Task.Delay(5, timeout.Token);
    }

    [Fact]
    public async Task CallersThatAskWhileACheckRunsJoinOneCheckThatStartsAfterIt()
    {
        var batch = new Batch { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var checks = new BatchCompletedEvents.UnfinishedChecks(batch.HasUnfinishedAsync);

        var first = checks.HasUnfinishedAsync("b1");
        await UntilAsync(() => Volatile.Read(ref batch.Queries) == 1);
        // The batch's last fits end while the first check is out; each end asks.
        batch.Unfinished = false;
        var later = Enumerable.Range(0, 32).Select(_ => checks.HasUnfinishedAsync("b1")).ToArray();
        batch.Gate.SetResult();

        Assert.True(await first);
        Assert.All(await Task.WhenAll(later), Assert.False);
        Assert.Equal(2, batch.Queries);
    }

    [Fact]
    public async Task ACallerAfterAllChecksEndedGetsAFreshCheck()
    {
        var batch = new Batch();
        var checks = new BatchCompletedEvents.UnfinishedChecks(batch.HasUnfinishedAsync);

        Assert.True(await checks.HasUnfinishedAsync("b1"));
        batch.Unfinished = false;
        Assert.False(await checks.HasUnfinishedAsync("b1"));
        Assert.Equal(2, batch.Queries);
    }

    [Fact]
    public async Task BatchesAreCheckedApart()
    {
        var batch = new Batch { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var checks = new BatchCompletedEvents.UnfinishedChecks(batch.HasUnfinishedAsync);

        var one = checks.HasUnfinishedAsync("b1");
        var other = checks.HasUnfinishedAsync("b2");
        await UntilAsync(() => Volatile.Read(ref batch.Queries) == 2);
        batch.Gate.SetResult();

        Assert.True(await one);
        Assert.True(await other);
    }

    [Fact]
    public async Task AFailedCheckFailsItsCallersAndTheNextCheckAsksAgain()
    {
        var calls = 0;
        var checks = new BatchCompletedEvents.UnfinishedChecks(async _ =>
        {
            await Task.Yield();
            if (Interlocked.Increment(ref calls) == 1) throw new InvalidOperationException("database away");
            return false;
        });

        await Assert.ThrowsAsync<InvalidOperationException>(() => checks.HasUnfinishedAsync("b1"));
        Assert.False(await checks.HasUnfinishedAsync("b1"));
    }
}
