using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>
/// The ends of chunks of small fits on the embedded store, stored off the worker that ran them. A chunk's end is one
/// write, and the writer is shared: a worker that waited for it idled its core for as long as the writer took (half of
/// its time in a batch of 10,000 lesson fits, docs/throughput.md). Here the worker hands the end on and takes its next
/// job at once, while the end is stored, then announced, in the background.
/// <para>
/// Nothing accepted can be lost by this: until its end is stored, a fit reads in the store as queued or running, exactly
/// as if its worker were still at it. A crash meanwhile leaves it unfinished, and recovery at the next start queues it
/// again; a write that fails hands the chunk back to the queue (after <see cref="RetryDelay"/>), and the job, reentrant,
/// runs what did not end. At most as many ends wait at once as there are workers (a further hand-off waits until one
/// of them is stored), so the results held in memory stay bounded. A stopping host waits for the ends handed on
/// (<see cref="StopAsync"/>) after the workers have stopped.
/// </para>
/// </summary>
public sealed class ChunkEnds : IHostedService, IDisposable
{
    /// <summary>How long a chunk whose end could not be stored waits before it is queued again.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    private readonly IFitQueue _queue;
    private readonly TimeProvider _clock;
    private readonly ILogger<ChunkEnds> _logger;
    private readonly SemaphoreSlim _slots;
    private readonly Lock _lock = new();
    private readonly List<Task> _pending = [];
    private long _handedOff;

    public ChunkEnds(IFitQueue queue, TimeProvider clock, ILogger<ChunkEnds> logger, IOptions<WorkersOptions> workers)
    {
        _queue = queue;
        _clock = clock;
        _logger = logger;
        _slots = new SemaphoreSlim(Math.Max(1, workers.Value.Count));
    }

    /// <summary>
    /// Starts <paramref name="end"/> (the end of the chunk of <paramref name="fitIds"/>) in the background, once fewer
    /// ends than workers are waiting, and returns without waiting for it.
    /// </summary>
    public async Task HandOffAsync(IReadOnlyList<string> fitIds, Func<Task> end)
    {
        await _slots.WaitAsync(CancellationToken.None);
        Interlocked.Increment(ref _handedOff);
        var running = Task.Run(() => RunAsync(fitIds, end), CancellationToken.None);
        lock (_lock)
        {
            _pending.RemoveAll(t => t.IsCompleted);
            _pending.Add(running);
        }
    }

    private async Task RunAsync(IReadOnlyList<string> fitIds, Func<Task> end)
    {
        try
        {
            await end();
        }
        catch (Exception e)
        {
            // A write that failed left the chunk's fits unfinished; one that failed after its commit (the announcement) is
            // skipped by the rerun, which finds those fits ended.
            _logger.LogWarning(e, "The end of a chunk of {Fits} fits failed; the chunk is queued again in {Delay}", fitIds.Count, RetryDelay);
            await RequeueAsync(fitIds);
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task RequeueAsync(IReadOnlyList<string> fitIds)
    {
        try
        {
            await Task.Delay(RetryDelay, _clock);
            // They made one chunk already, so the queue may put them in one again (work 0: their own work is not at hand).
            _queue.EnqueueMany([.. fitIds.Select(id => new QueuedFit(id, 0))]);
        }
        catch (Exception e)
        {
            // Still stored as queued or running: recovery at the next start queues them.
            _logger.LogError(e, "A chunk of {Fits} fits whose end could not be stored could not be queued again either; the next start will run them", fitIds.Count);
        }
    }

    /// <summary>Chunks' ends handed on since the start.</summary>
    public long HandedOff => Interlocked.Read(ref _handedOff);

    /// <summary>Completes once every end handed on so far is stored, or, should its write have failed, queued again.</summary>
    public Task IdleAsync()
    {
        lock (_lock) return Task.WhenAll(_pending);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Waits for the ends handed on (registered before the workers, so it runs after they have stopped).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await IdleAsync().WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Out of time: what was not stored is still unfinished in the store, for recovery at the next start.
        }
    }

    public void Dispose() => _slots.Dispose();
}
