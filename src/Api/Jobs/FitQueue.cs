using FitService.Api.Storage;
using Hangfire;
using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>Hands stored fits to the workers. Only the id travels: the points stay in the store.</summary>
public interface IFitQueue
{
    /// <param name="fitId">The stored fit.</param>
    /// <param name="work">Its size (<see cref="FitWork.Of"/>), so a queue can run small fits together; <see cref="FitWork.Unknown"/> runs it alone.</param>
    void Enqueue(string fitId, long work);
}

/// <summary>The embedded mode: one Hangfire job per fit.</summary>
public sealed class HangfireFitQueue(IBackgroundJobClient jobs) : IFitQueue
{
    public const string Queue = "fits";

    public void Enqueue(string fitId, long work) => jobs.Enqueue<FitJob>(Queue, job => job.RunAsync(fitId, null, CancellationToken.None));
}

/// <summary>
/// The shared store: a big fit gets its own Hangfire job; a small one is left in the store, where drain jobs claim it
/// in a chunk with others, and only a drain job is (coalesced) enqueued. Hangfire's own rate (~100 jobs/s on PostgreSQL)
/// then bounds drain jobs, not fits.
/// </summary>
public sealed class LeasedFitQueue(IBackgroundJobClient jobs, DrainKicker drains, IOptions<WorkersOptions> workers) : IFitQueue
{
    public void Enqueue(string fitId, long work)
    {
        if (work <= workers.Value.SmallFitWork) drains.Kick();
        else jobs.Enqueue<FitJob>(HangfireFitQueue.Queue, job => job.RunAsync(fitId, null, CancellationToken.None));
    }
}
