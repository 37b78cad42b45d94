using FitService.Api.Storage;
using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>
/// Runs a small fit on the request that submitted it with <c>Prefer: wait</c>, on the embedded store: the engine needs
/// microseconds for it, far less than a trip through the queue to a worker that may be busy. The fit is stored (and
/// committed) first, exactly as a queued one, so accepted still means stored: should the process die mid-run, recovery
/// at start finds it unfinished and queues it. At most one inline fit per core runs at once; beyond that, or if the run
/// fails, the fit goes to the queue as usual.
/// </summary>
public sealed class InlineFits(IServiceProvider services, IOptions<WorkersOptions> workers, IHostApplicationLifetime lifetime, ILogger<InlineFits> logger)
{
    /// <summary>Inline runs in progress (a count, not a semaphore: a request never waits for a slot, it queues instead).</summary>
    private int _running;

    /// <summary>
    /// Whether fits of this much work run inline here: a worker process (Workers:Count &gt; 0) on the embedded store (with a
    /// shared store, leases decide who runs a fit), and work up to <c>Workers:InlineFitWork</c>.
    /// </summary>
    public bool Takes(double work) =>
        work <= workers.Value.InlineFitWork && workers.Value.Count > 0 && services.GetService<IFitLeases>() is null;

    /// <summary>Runs the stored, queued fit to its end; false when it did not (no free slot, or a failure), and it must be queued.</summary>
    public async Task<bool> TryRunAsync(string fitId)
    {
        if (Interlocked.Increment(ref _running) > Environment.ProcessorCount)
        {
            Interlocked.Decrement(ref _running);
            return false;
        }
        try
        {
            // The job's own path (start, run, store the end, announce it), with the host's shutdown as the job's.
            await services.GetRequiredService<FitJob>().RunInlineAsync(fitId, lifetime.ApplicationStopping);
            return true;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Fit {FitId} could not run on its request; it is queued", fitId);
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }
}
