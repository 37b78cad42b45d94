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
}

public sealed class HangfireFitQueue(IBackgroundJobClient jobs) : IFitQueue
{
    public const string Queue = "fits";

    /// <summary>A job takes fits until their work adds up to about this much (tens of milliseconds of engine time)…</summary>
    public const double ChunkWork = 2e7;

    /// <summary>…or this many fits, so that a retry or a crash never repeats much.</summary>
    public const int ChunkFits = 64;

    public void Enqueue(string fitId) => jobs.Enqueue<FitJob>(Queue, job => job.Run(fitId, null, CancellationToken.None));

    public void EnqueueMany(IReadOnlyList<QueuedFit> fits)
    {
        foreach (var chunk in Chunk(fits))
        {
            if (chunk.Length == 1) Enqueue(chunk[0]);
            else jobs.Enqueue<FitJob>(Queue, job => job.RunMany(chunk, null, CancellationToken.None));
        }
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
}

/// <summary>
/// The shared store: a big fit gets its own Hangfire job; small ones (work up to <c>Workers:SmallFitWork</c>) stay in the
/// store, where drain jobs claim them in chunks, and only a (coalesced) drain job is enqueued. Hangfire's own rate
/// (~100 jobs/s on PostgreSQL) then bounds drain jobs, not fits. A fit of unknown size runs alone.
/// </summary>
public sealed class LeasedFitQueue(IBackgroundJobClient jobs, DrainKicker drains, IOptions<WorkersOptions> workers) : IFitQueue
{
    public void Enqueue(string fitId) => jobs.Enqueue<FitJob>(HangfireFitQueue.Queue, job => job.Run(fitId, null, CancellationToken.None));

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
