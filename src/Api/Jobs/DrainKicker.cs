using Hangfire;

namespace FitService.Api.Jobs;

/// <summary>
/// Enqueues drain jobs for small fits, at most one per <see cref="Interval"/> however many fits arrive: every kick is
/// followed by a drain job enqueued after it, so each stored fit has a drain job that starts after it was stored.
/// </summary>
public sealed class DrainKicker(IBackgroundJobClient jobs, ILogger<DrainKicker> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>After a failed enqueue (the database away), the next try.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _kicked = new(0, 1);
    private int _pending;

    /// <summary>Asks for a drain job soon. Cheap and non-blocking: called once per submitted small fit.</summary>
    public void Kick()
    {
        if (Interlocked.Exchange(ref _pending, 1) == 0)
        {
            try { _kicked.Release(); } catch (SemaphoreFullException) { }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await _kicked.WaitAsync(stoppingToken);
            // Reset before enqueueing: a kick from now on gets a job of its own, enqueued after it.
            Interlocked.Exchange(ref _pending, 0);
            try
            {
                jobs.Enqueue<DrainJob>(HangfireFitQueue.Queue, job => job.Run(CancellationToken.None));
            }
            catch (Exception e)
            {
                // The fits are safe in the store: kick again shortly rather than leave them to the next sweep.
                logger.LogWarning(e, "Could not enqueue a drain job; trying again in {Delay}", RetryDelay);
                Kick();
                await Task.Delay(RetryDelay, stoppingToken);
            }
            await Task.Delay(Interval, stoppingToken);
        }
    }
}
