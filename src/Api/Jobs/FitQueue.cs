using Hangfire;
using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>A fit to queue and a rough measure of its work (points × steps × params), to group small fits.</summary>
public readonly record struct QueuedFit(string FitId, double Work);

/// <summary>Hands stored fits to the workers. Only ids travel: the points stay in the store.</summary>
public interface IFitQueue
{
    void Enqueue(string fitId);

    /// <summary>Queues many fits, small ones sharing a job so that Hangfire's job rate does not bound them.</summary>
    void EnqueueMany(IReadOnlyList<QueuedFit> fits);

    /// <summary>A fit job has just started on a worker (the queue may hand on fits it held back meanwhile).</summary>
    void JobStarted();
}

/// <summary>
/// The embedded queue (Hangfire.InMemory). A fit that arrives while no fit job is waiting for a worker gets a job at
/// once. Fits that arrive while one is already waiting could not start any sooner, so they are held back and go
/// together into the next job, which is enqueued as soon as the waiting one starts (group enqueue, as
/// <see cref="Storage.SqliteDatabase"/> groups commits): under load, small fits share jobs and Hangfire's per-job work
/// is paid once per group; an idle service starts each fit at once. Held-back fits are stored as queued, so a crash
/// loses nothing (recovery at start queues them again), and a sweep every <see cref="HoldLimit"/> hands on any fit
/// held that long, whatever the count of waiting jobs says.
/// </summary>
public sealed class HangfireFitQueue : IFitQueue, IDisposable
{
    public const string Queue = "fits";

    /// <summary>A job takes fits until their work adds up to about this much (tens of milliseconds of engine time)…</summary>
    public const double ChunkWork = 2e7;

    /// <summary>…or this many fits, so that a retry or a crash never repeats much.</summary>
    public const int ChunkFits = 64;

    /// <summary>The longest a fit is held back, should a waiting job never report its start (deleted from the dashboard).</summary>
    public static readonly TimeSpan HoldLimit = TimeSpan.FromMilliseconds(100);

    private readonly IBackgroundJobClient _jobs;
    private readonly ILogger<HangfireFitQueue> _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly List<QueuedFit> _held = [];
    private readonly ITimer _sweep;
    private int _waitingJobs;
    private long _heldSince;

    public HangfireFitQueue(IBackgroundJobClient jobs, ILogger<HangfireFitQueue> logger, TimeProvider time)
    {
        _jobs = jobs;
        _logger = logger;
        _time = time;
        _sweep = time.CreateTimer(_ => Sweep(), null, HoldLimit, HoldLimit);
    }

    /// <summary>A fit of unknown size (recovery, the finder) gets a job of its own.</summary>
    public void Enqueue(string fitId) => EnqueueMany([new QueuedFit(fitId, double.PositiveInfinity)]);

    public void EnqueueMany(IReadOnlyList<QueuedFit> fits)
    {
        lock (_lock)
        {
            if (_waitingJobs > 0)
            {
                if (_held.Count == 0) _heldSince = _time.GetTimestamp();
                _held.AddRange(fits);
                return;
            }
            _waitingJobs += EnqueueChunks(fits);
        }
    }

    public void JobStarted()
    {
        lock (_lock)
        {
            if (_waitingJobs > 0) _waitingJobs--;
            if (_held.Count > 0) HandOnHeld();
        }
    }

    private void Sweep()
    {
        lock (_lock)
        {
            if (_held.Count > 0 && _time.GetElapsedTime(_heldSince) >= HoldLimit) HandOnHeld();
        }
    }

    private void HandOnHeld()
    {
        var fits = _held.ToArray();
        _held.Clear();
        try
        {
            _waitingJobs += EnqueueChunks(fits);
        }
        catch (Exception e)
        {
            // Keep them for the next start or sweep (a fit queued twice runs once: the job is reentrant).
            _logger.LogWarning(e, "{Count} held fits could not be queued; trying again", fits.Length);
            _held.InsertRange(0, fits);
        }
    }

    /// <summary>One job per chunk (a lone fit gets <see cref="FitJob.Run"/>, a group <see cref="FitJob.RunMany"/>); returns the number of jobs.</summary>
    private int EnqueueChunks(IReadOnlyList<QueuedFit> fits)
    {
        var jobs = 0;
        foreach (var chunk in Chunk(fits))
        {
            if (chunk.Length == 1) _jobs.Enqueue<FitJob>(Queue, job => job.Run(chunk[0], null, CancellationToken.None));
            else _jobs.Enqueue<FitJob>(Queue, job => job.RunMany(chunk, null, CancellationToken.None));
            jobs++;
        }
        return jobs;
    }

    public static IEnumerable<string[]> Chunk(IReadOnlyList<QueuedFit> fits)
    {
        var chunk = new List<string>();
        var work = 0.0;
        foreach (var fit in fits)
        {
            if (chunk.Count > 0 && (work + fit.Work > ChunkWork || chunk.Count == ChunkFits))
            {
                yield return chunk.ToArray();
                chunk.Clear();
                work = 0;
            }
            chunk.Add(fit.FitId);
            work += fit.Work;
        }
        if (chunk.Count > 0) yield return chunk.ToArray();
    }

    public void Dispose() => _sweep.Dispose();
}

/// <summary>
/// The shared store: a big fit gets its own Hangfire job; small ones (work up to <c>Workers:SmallFitWork</c>) stay in the
/// store, where drain jobs claim them in chunks, and only a (coalesced) drain job is enqueued. Hangfire's own rate
/// (~100 jobs/s on PostgreSQL) then bounds drain jobs, not fits. A fit of unknown size runs alone.
/// </summary>
public sealed class LeasedFitQueue(IBackgroundJobClient jobs, DrainKicker drains, IOptions<WorkersOptions> workers) : IFitQueue
{
    public void Enqueue(string fitId) => jobs.Enqueue<FitJob>(HangfireFitQueue.Queue, job => job.Run(fitId, null, CancellationToken.None));

    /// <summary>Drain jobs claim what is stored; nothing is held back here.</summary>
    public void JobStarted() { }

    public void EnqueueMany(IReadOnlyList<QueuedFit> fits)
    {
        var small = false;
        foreach (var fit in fits)
        {
            if (fit.Work <= workers.Value.SmallFitWork) small = true;
            else Enqueue(fit.FitId);
        }
        if (small) drains.Kick();
    }
}
