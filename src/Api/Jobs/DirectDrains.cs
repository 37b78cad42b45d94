using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>
/// Drains small fits in a worker process of the shared store as soon as any process announces them (a NOTIFY, see
/// <see cref="DrainKicker"/>), without a Hangfire job per drain: a Hangfire drain job is a dozen statements and three
/// state changes around one or two claims, which at one POST per fit cost the database and the workers more than the
/// claims themselves. Every announcement is followed by a claim that starts after it: a new drain if none runs here, else
/// one of the running drains claims once more before it stops (a second drain started for every announcement would
/// mostly claim nothing). A drain whose claim comes back full starts another, up to <c>Workers:Count</c> at once, so a
/// backlog spreads over the slots (and, announced, over the other worker processes). Nothing
/// depends on an announcement arriving: the fits are in the store, and the lease sweep kicks a drain for queued fits that
/// waited (a listener reconnecting, no worker running when they were stored).
/// </summary>
public sealed class DirectDrains(IServiceProvider services, IOptions<WorkersOptions> workers, ILogger<DirectDrains> logger) : BackgroundService
{
    /// <summary>The announcement on <see cref="Notifications.PostgresFitSignals.JobsChannel"/> that small fits wait.</summary>
    public const string Announcement = "drain";

    /// <summary>After a drain failed (the database away), the next try; the lease sweep also finds what it left.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _signal = new(0, 1);
    // 1: a wake that no claim has started after yet.
    private int _wanted;
    // 1: a drain's claim came back full: another drain may start beside the running ones.
    private int _fanOut;
    private int _running;
    private int _started;

    /// <summary>Drains started so far (tests and the bench read it).</summary>
    public int Started => Volatile.Read(ref _started);

    /// <summary>The most drains that ran here at once.</summary>
    public int MostRunning => Volatile.Read(ref _mostRunning);

    private int _mostRunning;

    /// <summary>Small fits may wait: a claim follows. Cheap and non-blocking.</summary>
    public void Wake()
    {
        Volatile.Write(ref _wanted, 1);
        Signal();
    }

    /// <summary>A drain's claim came back full: more may be waiting, and another slot takes a share.</summary>
    internal void FanOut()
    {
        Volatile.Write(ref _fanOut, 1);
        Wake();
    }

    /// <summary>A drain is about to claim: the wakes so far are answered by that claim.</summary>
    internal void Claiming() => Volatile.Write(ref _wanted, 0);

    /// <summary>Whether a wake came since the last claim started: a drain whose claim came back empty claims again.</summary>
    internal bool Wanted => Volatile.Read(ref _wanted) == 1;

    private void Signal()
    {
        try { _signal.Release(); } catch (SemaphoreFullException) { }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var slots = Math.Max(1, workers.Value.Count);
        var drains = new List<Task>();
        try
        {
            while (true)
            {
                await _signal.WaitAsync(stoppingToken);
                drains.RemoveAll(d => d.IsCompleted);
                // A running drain answers a wake with its next claim; a second one starts only for a backlog (FanOut).
                var running = Volatile.Read(ref _running);
                if (Wanted && running < slots && (running == 0 || Interlocked.Exchange(ref _fanOut, 0) == 1))
                {
                    var now = Interlocked.Increment(ref _running);
                    if (now > _mostRunning) Volatile.Write(ref _mostRunning, now);
                    Interlocked.Increment(ref _started);
                    drains.Add(Task.Run(() => DrainAsync(stoppingToken), CancellationToken.None));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Running drains see the same token: each gives back the fits it has not run (DrainJob) and stops.
            await Task.WhenAll(drains).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task DrainAsync(CancellationToken stoppingToken)
    {
        try
        {
            await using var scope = services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<DrainJob>().DrainAsync(this, stoppingToken);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            // As a failed Hangfire drain job is retried: the fits it could not end were given back (DrainJob).
            logger.LogWarning(e, "A drain failed; draining again in {Delay}", RetryDelay);
            _ = Task.Delay(RetryDelay, stoppingToken).ContinueWith(_ => Wake(), CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            // A wake that came as this drain stopped, with no other drain here, is answered now by a new one.
            Signal();
        }
    }
}
