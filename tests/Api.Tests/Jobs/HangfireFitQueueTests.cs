using FitService.Api.Jobs;
using Hangfire;
using Hangfire.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FitService.Api.Tests.Jobs;

/// <summary>
/// The embedded queue over a real Hangfire.InMemory storage with no server: what it enqueues is read back from the
/// storage, the workers' starts are reported by hand, and time moves only when a test moves it.
/// </summary>
public sealed class HangfireFitQueueTests : IDisposable
{
    private readonly InMemoryStorage _storage = new(new InMemoryStorageOptions { IdType = InMemoryStorageIdType.Long });
    private readonly FakeTimeProvider _clock = new();
    private readonly HangfireFitQueue _queue;

    public HangfireFitQueueTests() =>
        _queue = new HangfireFitQueue(new BackgroundJobClient(_storage), Microsoft.Extensions.Logging.Abstractions.NullLogger<HangfireFitQueue>.Instance, _clock);

    private static QueuedFit Small(string id) => new(id, 1_000);

    /// <summary>The fit ids of each enqueued job, oldest first.</summary>
    private List<string[]> Jobs() => EnqueuedFitJobs.Of(_storage);

    [Fact]
    public void AFitArrivingWhileNoJobWaitsGetsAJobAtOnce()
    {
        _queue.EnqueueMany([Small("a")]);

        var job = Assert.Single(_storage.GetMonitoringApi().EnqueuedJobs(HangfireFitQueue.Queue, 0, 10)).Value.Job;
        Assert.Equal(nameof(FitJob.Run), job.Method.Name);
        Assert.Equal("a", job.Args[0]);
    }

    [Fact]
    public void FitsArrivingWhileAJobWaitsShareTheNextJobWhichIsQueuedWhenTheWaitingOneStarts()
    {
        _queue.EnqueueMany([Small("a")]);
        _queue.EnqueueMany([Small("b")]);
        _queue.EnqueueMany([Small("c"), Small("d")]);
        Assert.Equal([["a"]], Jobs());

        _queue.JobStarted();

        Assert.Equal([["a"], ["b", "c", "d"]], Jobs());
        var shared = _storage.GetMonitoringApi().EnqueuedJobs(HangfireFitQueue.Queue, 0, 10).Select(j => j.Value.Job).Last();
        Assert.Equal(nameof(FitJob.RunMany), shared.Method.Name);

        // Both jobs started: the queue is idle again, and the next fit goes at once.
        _queue.JobStarted();
        _queue.EnqueueMany([Small("e")]);
        Assert.Equal([["a"], ["b", "c", "d"], ["e"]], Jobs());
    }

    [Fact]
    public void HeldFitsGoOnTheirOwnIfNoJobReportsItsStart()
    {
        _queue.EnqueueMany([Small("a")]);
        _queue.EnqueueMany([Small("b")]);
        Assert.Single(Jobs());

        _clock.Advance(HangfireFitQueue.HoldLimit - TimeSpan.FromMilliseconds(1));
        Assert.Single(Jobs());

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal([["a"], ["b"]], Jobs());
    }

    [Fact]
    public void HeldFitsAreChunkedAndAFitOfUnknownSizeRunsAlone()
    {
        _queue.EnqueueMany([Small("first")]);
        var many = Enumerable.Range(0, HangfireFitQueue.ChunkFits + 3).Select(i => $"f{i}").ToArray();
        _queue.EnqueueMany([.. many.Select(Small)]);
        _queue.Enqueue("recovered");
        _queue.EnqueueMany([Small("last")]);

        _queue.JobStarted();

        var jobs = Jobs();
        Assert.Equal(5, jobs.Count);
        Assert.Equal(many[..HangfireFitQueue.ChunkFits], jobs[1]);
        Assert.Equal(many[HangfireFitQueue.ChunkFits..], jobs[2]);
        Assert.Equal(["recovered"], jobs[3]);
        Assert.Equal(["last"], jobs[4]);
    }

    [Fact]
    public void ABigFitGetsItsOwnJob()
    {
        _queue.EnqueueMany([Small("first")]);
        _queue.EnqueueMany([Small("a"), new QueuedFit("big", HangfireFitQueue.ChunkWork * 2), Small("b")]);
        _queue.JobStarted();

        Assert.Equal([["first"], ["a"], ["big"], ["b"]], Jobs());
    }

    public void Dispose()
    {
        _queue.Dispose();
        _storage.Dispose();
    }
}
