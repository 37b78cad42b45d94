using System.Data.Common;
using System.Diagnostics;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Api.Tracing;
using Hangfire;
using Microsoft.Extensions.Options;

namespace FitService.Api.Jobs;

/// <summary>
/// Runs small fits from the shared store, a chunk at a time, until none is left to claim. Many drain jobs run at once
/// (one per worker thread at most); claims skip each other's rows, so they never run the same fit twice. Each chunk is
/// held under a lease that the job renews, and is ended in one statement. A drain job that dies leaves its fits to run
/// out their lease and be claimed by another drain; a retried or duplicated one just drains what is there.
/// </summary>
public sealed class DrainJob(
    IFitLeases leases,
    FitRunner runner,
    FitEndings endings,
    FitCancellations cancellations,
    DrainKicker drains,
    IOptions<WorkersOptions> workers,
    TimeProvider clock,
    ILogger<DrainJob> logger)
{
    /// <summary>A drain job hands over to a fresh one after this, so the dashboard shows progress rather than one endless job.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A fit's end is stored and announced at most this long after it ended (plus the run of the fit in hand), not when
    /// its whole chunk is done: waiters and webhooks of the chunk's first fits would otherwise wait for all the others.
    /// Fast fits still end many to a statement.
    /// </summary>
    public static readonly TimeSpan EndWithin = TimeSpan.FromMilliseconds(5);

    [AutomaticRetry(Attempts = 3)]
    [JobDisplayName("drain small fits")]
    public string Run(CancellationToken shutdown) => Blocking.Wait(RunAsync(shutdown));

    /// <summary>The drain itself; Hangfire runs it through <see cref="Run"/> (jobs stored before that existed call it directly).</summary>
    [AutomaticRetry(Attempts = 3)]
    [JobDisplayName("drain small fits")]
    public Task<string> RunAsync(CancellationToken shutdown) => DrainAsync(null, shutdown);

    /// <param name="wakes">
    /// A drain of <see cref="DirectDrains"/>: each claim answers the wakes before it, and a claim that comes back empty is
    /// made again if a wake came meanwhile (so no announcement goes unanswered while this drain stops).
    /// </param>
    /// <param name="shutdown">Stops the drain; the fits it has not run go back at once.</param>
    internal async Task<string> DrainAsync(DirectDrains? wakes, CancellationToken shutdown)
    {
        var options = workers.Value;
        var clockStarted = Stopwatch.StartNew();
        var ran = 0;
        var fannedOut = false;
        while (true)
        {
            shutdown.ThrowIfCancellationRequested();
            if (clockStarted.Elapsed > MaxDuration)
            {
                drains.Kick();
                break;
            }
            wakes?.Claiming();
            var chunk = await leases.ClaimSmallAsync(options.ChunkSize, options.SmallFitWork, clock.GetUtcNow(), shutdown);
            if (chunk.Count == 0)
            {
                if (wakes is { Wanted: true }) continue;
                break;
            }
            if (chunk.Count == options.ChunkSize && !fannedOut)
            {
                // A full chunk: more may be waiting (a batch, a backlog). Another drain job shares them, on another worker
                // thread or process; it does the same, so drains spread to every free worker while the backlog lasts.
                drains.Kick();
                wakes?.FanOut();
                fannedOut = true;
            }
            ran += await RunChunkAsync(chunk, shutdown);
        }
        if (ran > 0) logger.LogInformation("Drained {Count} small fits in {Seconds:F1} s", ran, clockStarted.Elapsed.TotalSeconds);
        // Shown as the job's result in the dashboard.
        return $"{ran} fits";
    }

    private async Task<int> RunChunkAsync(IReadOnlyList<ClaimedFit> chunk, CancellationToken shutdown)
    {
        var unfinished = chunk.Select(c => c.Fit.Id).ToHashSet();
        var completions = new List<(FitRecord Fit, FitCompletion Completion)>(chunk.Count);
        // completions[..stored] have been ended (or refused by the store); the rest wait for the next EndPendingAsync.
        var stored = 0;
        var oldestPending = 0L;
        var ended = new HashSet<string>();
        var sinceRenewal = Stopwatch.StartNew();

        async Task EndPendingAsync()
        {
            if (stored == completions.Count) return;
            ended.UnionWith(await EndAsync(completions.GetRange(stored, completions.Count - stored)));
            stored = completions.Count;
        }

        try
        {
            foreach (var (fit, points) in chunk)
            {
                var completion = fit.Attempt > FitJob.Retries + 1
                    ? runner.GaveUp(null, fit.Attempt - 1)
                    : RunOne(fit, points, shutdown);
                if (completion is null) break;
                if (stored == completions.Count) oldestPending = Stopwatch.GetTimestamp();
                completions.Add((fit, completion));
                unfinished.Remove(fit.Id);
                if (Stopwatch.GetElapsedTime(oldestPending) >= EndWithin) await EndPendingAsync();
                if (sinceRenewal.Elapsed > leases.Duration / 3 && unfinished.Count > 0)
                {
                    await leases.RenewAsync(unfinished, shutdown);
                    sinceRenewal.Restart();
                }
            }
        }
        finally
        {
            // Whatever happened, keep what was done and give the rest back at once; what could not be ended is given up
            // too, so that the retried drain (or a sweep) takes it again at once rather than after the lease.
            try
            {
                await EndPendingAsync();
            }
            catch
            {
                unfinished.UnionWith(completions.Skip(stored).Select(c => c.Fit.Id));
                // The store's failure to end the chunk is what the retried drain must know of, so it replaces whatever
                // stopped the loop (a shutdown, an engine fault), which the ended fits' records already tell.
#pragma warning disable CA2219
                throw;
#pragma warning restore CA2219
            }
            finally
            {
                if (unfinished.Count > 0) await leases.GiveUpAsync(unfinished);
            }
        }
        // The chunk's results are stored and announced; optima left pending follow.
        var claimed = chunk.ToDictionary(c => c.Fit.Id);
        foreach (var (fit, completion) in completions)
        {
            if (!ended.Contains(fit.Id)) continue;
            await runner.CompletePendingOptimumAsync(fit, claimed[fit.Id].Points, completion, shutdown);
        }
        if (unfinished.Count > 0)
        {
            drains.Kick();
            shutdown.ThrowIfCancellationRequested();
        }
        return completions.Count;
    }

    private FitCompletion? RunOne(FitRecord fit, FitPoints points, CancellationToken shutdown)
    {
        using var span = FitTracing.StartRun(fit.Id, fit.Attempt, fit.TraceParent);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        cancellations.Register(fit.Id, stop);
        try
        {
            return runner.Run(fit, points, stop, shutdown);
        }
        catch (Exception e) when (!FitRunner.IsInfrastructureFault(e))
        {
            // The engine's own error ends this fit with its reason; the store's are not its fault: they fail the job, which is retried.
            logger.LogError(e, "Fit {FitId} cannot be computed", fit.Id);
            return runner.CannotRun(e);
        }
        finally
        {
            cancellations.Unregister(fit.Id, stop);
        }
    }

    private async Task<HashSet<string>> EndAsync(List<(FitRecord Fit, FitCompletion Completion)> completions)
    {
        if (completions.Count == 0) return [];
        var ended = (await leases.CompleteManyAsync([.. completions.Select(c => (c.Fit.Id, c.Completion))], CancellationToken.None)).ToHashSet();
        var announced = new List<(FitSignal, FitStatus, FitRecord)>(ended.Count);
        foreach (var (fit, completion) in completions)
        {
            if (!ended.Contains(fit.Id)) continue;
            logger.LogInformation("Fit {FitId} ended: {Status} ({StopReason}) after {Step} steps, loss {Loss}",
                fit.Id, completion.Status.ToWire(), completion.StopReason, completion.Step, completion.Loss);
            announced.Add((new FitSignal(fit.Id, true, completion.Step, completion.Loss, completion.Params), completion.Status, FitLifecycle.Ended(fit, completion)));
        }
        await endings.EndedManyAsync(announced, leases.AnnouncesEnds);
        return ended;
    }
}
