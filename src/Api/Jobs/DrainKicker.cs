using FitService.Api.Notifications;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>
/// Enqueues drain jobs for small fits, at most one per <see cref="Interval"/> however many fits arrive: every kick is
/// followed by a drain job that starts after it, so each stored fit has a drain job that starts after it was stored.
/// While the drain job this process enqueued last has not started yet, that job is the one: it claims what is stored when
/// it starts, so no other is enqueued (under load, jobs would otherwise pile up in Hangfire's queue, each a dozen
/// statements, most of them finding nothing left to claim).
/// </summary>
/// <remarks>
/// With <c>Workers:DirectDrains</c> (the default) a kick enqueues nothing: it announces the fits to every worker process
/// (<see cref="PostgresFitSignals.AnnounceDrainAsync"/>), whose <see cref="DirectDrains"/> claim them at once.
/// </remarks>
public sealed class DrainKicker(
    IBackgroundJobClient jobs,
    JobStorage storage,
    IOptions<WorkersOptions> workers,
    TimeProvider clock,
    ILogger<DrainKicker> logger,
    PostgresFitSignals? signals = null) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>After a failed enqueue (the database away), the next try.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _kicked = new(0, 1);
    private int _pending;
    private string? _lastJob;
    private long _lastEnqueuedAt;

    /// <summary>Drain jobs this process enqueued (a kick that found its last one still waiting enqueues none).</summary>
    public int Enqueued => Volatile.Read(ref _enqueued);

    /// <summary>Drains announced to the worker processes (<c>Workers:DirectDrains</c>).</summary>
    public int Announced => Volatile.Read(ref _announced);

    private int _announced;

    /// <summary>Kicks handled so far (many kicks between two turns of the loop count once).</summary>
    public int Handled => Volatile.Read(ref _handled);

    private int _enqueued;
    private int _handled;

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
                if (signals is not null && workers.Value.DirectDrains)
                {
                    await signals.AnnounceDrainAsync(stoppingToken);
                    Interlocked.Increment(ref _announced);
                }
                else if (!LastJobStillWaiting())
                {
                    _lastJob = jobs.Enqueue<DrainJob>(HangfireFitQueue.Queue, job => job.Run(CancellationToken.None));
                    _lastEnqueuedAt = clock.GetTimestamp();
                    Interlocked.Increment(ref _enqueued);
                }
            }
            catch (Exception e)
            {
                // The fits are safe in the store: kick again shortly rather than leave them to the next sweep.
                logger.LogWarning(e, "Could not enqueue or announce a drain; trying again in {Delay}", RetryDelay);
                Kick();
                await Task.Delay(RetryDelay, stoppingToken);
            }
            Interlocked.Increment(ref _handled);
            await Task.Delay(Interval, stoppingToken);
        }
    }

    /// <summary>
    /// Whether the drain job enqueued last is still in Hangfire's Enqueued state: its worker has not moved it to Processing,
    /// which it does before running it, so its first claim comes after this kick's fits were stored. One that has waited
    /// a lease or longer may have been fetched by a worker that died (Hangfire hands it out again only after two leases):
    /// then a fresh one is enqueued.
    /// </summary>
    private bool LastJobStillWaiting()
    {
        if (_lastJob is null || clock.GetElapsedTime(_lastEnqueuedAt) >= workers.Value.Lease) return false;
        try
        {
            using var connection = storage.GetConnection();
            return connection.GetStateData(_lastJob)?.Name == EnqueuedState.StateName;
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "Could not read the state of drain job {JobId}; enqueueing another", _lastJob);
            return false;
        }
    }
}
