namespace FitService.Api.Storage;

/// <summary>
/// Claims on fits for workers that share one store (the PostgreSQL provider). A worker process holds a fit under a lease
/// that it renews while the fit runs (progress saves renew it); when the process dies the lease runs out and the fit can be
/// claimed again. Small fits are claimed in chunks, so one Hangfire job runs many of them.
/// Lease times are the database server's clock, so processes on machines with different clocks agree.
/// </summary>
public interface IFitLeases
{
    /// <summary>Identifies this process's claims (host, process id and a random part).</summary>
    string Owner { get; }

    TimeSpan Duration { get; }

    /// <summary>
    /// As <see cref="IFitWork.TryStartAsync"/>, but under a lease held by <see cref="Owner"/>: a fit that another worker
    /// runs under a live lease is left alone (<see cref="StartOutcome.Leased"/>), and so is one this process runs; a fit
    /// this process gave up (<see cref="GiveUpAsync"/>) is claimed again at once.
    /// </summary>
    Task<StartResult> TryClaimAsync(string id, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Starts up to <paramref name="count"/> small fits (points × steps ≤ <paramref name="maxWork"/>), oldest first: queued
    /// ones, and running ones whose lease ran out. Fits other workers are claiming at the same moment are skipped, not waited for.
    /// </summary>
    Task<IReadOnlyList<ClaimedFit>> ClaimSmallAsync(int count, long maxWork, DateTimeOffset now, CancellationToken ct);

    /// <summary>Extends the leases this process holds on the given fits.</summary>
    Task RenewAsync(IReadOnlyCollection<string> ids, CancellationToken ct);

    /// <summary>Gives claimed fits back at once (shutdown), so other workers need not wait for the leases to run out.</summary>
    Task ReleaseAsync(IReadOnlyCollection<string> ids, CancellationToken ct);

    /// <summary>
    /// Gives claimed fits back after their run failed (a database error, say), never throwing: released at once if the
    /// database answers; else remembered, so that this process's next claim takes them again at once (a retried job
    /// must not wait a whole lease for its own process) and its next sweep releases them for the others.
    /// </summary>
    Task GiveUpAsync(IReadOnlyCollection<string> ids);

    /// <summary>Ends many fits in one statement; returns the ids that ended now (those that had not ended already).</summary>
    Task<IReadOnlyList<string>> CompleteManyAsync(IReadOnlyList<(string Id, FitCompletion Completion)> completions, CancellationToken ct);

    /// <summary>As <see cref="IFitWork.AnnouncesEnds"/>: <see cref="CompleteManyAsync"/> tells the other processes of the ends it stores.</summary>
    bool AnnouncesEnds => false;

    /// <summary>
    /// Finds work that nobody will do unless told: fits whose worker died (lease ran out), queued fits older than
    /// <paramref name="orphanAge"/> whose job may have been lost, and cancelled fits whose worker died (ended here).
    /// A big fit it returns is marked as handed out for <paramref name="orphanAge"/>, so the next sweep does not hand it out again.
    /// </summary>
    Task<SweepResult> SweepAsync(long maxSmallWork, TimeSpan orphanAge, DateTimeOffset now, CancellationToken ct);
}

/// <summary>A fit a worker claimed, with its points.</summary>
public sealed record ClaimedFit(FitRecord Fit, FitPoints Points);

/// <summary>What a sweep found: big fits that need a job, whether small fits need a drain, and fits it ended as cancelled.</summary>
public sealed record SweepResult(IReadOnlyList<string> BigFits, bool SmallFitsWaiting, IReadOnlyList<string> Cancelled);
