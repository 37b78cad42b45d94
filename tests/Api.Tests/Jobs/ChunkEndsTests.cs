using FitService.Api.Jobs;
using Hangfire;
using Hangfire.InMemory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace FitService.Api.Tests.Jobs;

/// <summary>
/// Chunks' ends stored off their workers, with the embedded queue over a real Hangfire.InMemory storage (no server: what
/// it enqueues is read back) and time that moves only when a test moves it. The ends themselves are stand-ins that the
/// test completes or fails; that a real chunk's end goes through here is BatchTests' to show.
/// </summary>
public sealed class ChunkEndsTests : IDisposable
{
    private readonly InMemoryStorage _storage = new(new InMemoryStorageOptions { IdType = InMemoryStorageIdType.Long });
    private readonly FakeTimeProvider _clock = new();
    private readonly ChunkEnds _ends;

    public ChunkEndsTests()
    {
        var queue = new HangfireFitQueue(new BackgroundJobClient(_storage), NullLogger<HangfireFitQueue>.Instance, _clock);
        _ends = new ChunkEnds(queue, _clock, NullLogger<ChunkEnds>.Instance, Microsoft.Extensions.Options.Options.Create(new WorkersOptions { Count = 2 }));
    }

    private List<string[]> Jobs() => EnqueuedFitJobs.Of(_storage);

    [Fact]
    public async Task AWorkerHandsItsChunksEndOnAndGoesOnWhileTheEndIsStored()
    {
        var write = new TaskCompletionSource();

        await _ends.HandOffAsync(["a", "b"], () => write.Task).WaitAsync(TimeSpan.FromMinutes(1));

        var idle = _ends.IdleAsync();
        Assert.False(idle.IsCompleted);
        write.SetResult();
        await idle.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, _ends.HandedOff);
        Assert.Empty(Jobs());
    }

    [Fact]
    public async Task AtMostOneEndPerWorkerWaitsAndAFurtherHandOffWaitsForOneOfThemToBeStored()
    {
        var first = new TaskCompletionSource();
        var second = new TaskCompletionSource();
        await _ends.HandOffAsync(["a"], () => first.Task);
        await _ends.HandOffAsync(["b"], () => second.Task);

        var third = _ends.HandOffAsync(["c"], () => Task.CompletedTask);
        Assert.False(third.IsCompleted);
        second.SetResult();
        await third.WaitAsync(TimeSpan.FromMinutes(1));

        var fourth = _ends.HandOffAsync(["d"], () => Task.CompletedTask);

        await fourth.WaitAsync(TimeSpan.FromMinutes(1));
        first.SetResult();
        await _ends.IdleAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(4, _ends.HandedOff);
    }

    [Fact]
    public async Task AChunkWhoseEndCannotBeStoredIsQueuedAgainAfterTheRetryDelayNotBefore()
    {
        var attempted = new TaskCompletionSource();
        await _ends.HandOffAsync(["a", "b", "c"], () =>
        {
            attempted.TrySetResult();
            return Task.FromException(new IOException("disk full"));
        });
        await attempted.Task.WaitAsync(TimeSpan.FromMinutes(1));
        var idle = _ends.IdleAsync();
        Assert.Empty(Jobs());

        // The delay runs on the test's clock: the chunk is queued again only once that clock has moved by the whole delay
        // (in steps, since the delay starts on another thread at a moment the test cannot see).
        var moved = TimeSpan.Zero;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (Jobs().Count == 0)
        {
            timeout.Token.ThrowIfCancellationRequested();
            _clock.Advance(ChunkEnds.RetryDelay / 4);
            moved += ChunkEnds.RetryDelay / 4;
            await Task.Yield();
        }
        await idle.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal([["a", "b", "c"]], Jobs());
        Assert.True(moved >= ChunkEnds.RetryDelay, $"queued again after {moved}");
    }

    [Fact]
    public async Task AStoppingHostWaitsForTheEndsHandedOnAndGivesUpOnlyWhenItsTimeIsUp()
    {
        var write = new TaskCompletionSource();
        await _ends.HandOffAsync(["a"], () => write.Task);

        var stop = _ends.StopAsync(CancellationToken.None);
        Assert.False(stop.IsCompleted);
        write.SetResult();
        await stop.WaitAsync(TimeSpan.FromMinutes(1));

        // Out of time: the stop returns, and the end left unstored is the next start's recovery's to run again.
        var never = new TaskCompletionSource();
        await _ends.HandOffAsync(["b"], () => never.Task);
        await _ends.StopAsync(new CancellationToken(canceled: true)).WaitAsync(TimeSpan.FromMinutes(1));
        never.SetResult();
    }

    public void Dispose() => _ends.Dispose();
}
