namespace FitService.Api.Storage;

/// <summary>
/// The durable home of fits: requests, points, progress and results. One implementation per
/// <c>Storage:Provider</c>; all pass the same contract tests. Every read and write that a client
/// drives is scoped by tenant; a fit of another tenant is indistinguishable from a missing one.
/// It plays four roles, each its own interface, and a consumer takes the one it needs (host wiring takes the whole).
/// </summary>
public interface IFitStore : IFitReader, IFitSubmissions, IFitWork, IFitRetention
{
    /// <summary>Creates or migrates the schema; idempotent and safe when several processes start at once.</summary>
    Task InitializeAsync(CancellationToken ct);

    /// <summary>Checks that the storage answers (readiness).</summary>
    Task PingAsync(CancellationToken ct);
}

/// <summary>Reads of fits and batches: clients' (scoped by tenant) and workers' (by id), and the counts quotas and metrics need.</summary>
public interface IFitReader
{
    /// <summary>A fit of the tenant, never a learning-rate finder run; with its whole history when <paramref name="includeHistory"/>.</summary>
    Task<FitRecord?> GetAsync(string tenant, string id, bool includeHistory, CancellationToken ct) =>
        GetAsync(tenant, id, includeHistory ? int.MaxValue : 0, ct);

    /// <summary>
    /// A fit of the tenant, never a learning-rate finder run, with at most the first <paramref name="historyLimit"/> entries
    /// of its history (none when 0) and <see cref="FitRecord.HistoryTotal"/>; only that much history is read.
    /// </summary>
    Task<FitRecord?> GetAsync(string tenant, string id, int historyLimit, CancellationToken ct);

    /// <summary>A learning-rate finder run of the tenant, never a fit (without history: its curve is in its outcome).</summary>
    Task<FitRecord?> GetFinderRunAsync(string tenant, string id, CancellationToken ct);

    /// <summary>Loads a fit for a worker, regardless of tenant.</summary>
    Task<FitRecord?> GetForWorkerAsync(string id, CancellationToken ct);

    /// <summary>A fit's points, and its weights (null for a fit stored without them, as every fit before weights existed).</summary>
    Task<FitPoints?> GetPointsAsync(string id, CancellationToken ct);

    /// <summary>A slice of the recorded history and the total number of entries; null when the fit does not exist (or is a finder run).</summary>
    Task<(double[] Page, int Total)?> GetHistoryAsync(string tenant, string id, int offset, int limit, CancellationToken ct);

    Task<IReadOnlyList<FitRecord>> ListAsync(string tenant, FitQuery query, CancellationToken ct);

    /// <summary>A batch with its fit ids in submission order and its counts by status; null when missing or another tenant's.</summary>
    Task<BatchRecord?> GetBatchAsync(string tenant, string id, CancellationToken ct);

    /// <summary>The fits of a batch in submission order, without history.</summary>
    Task<IReadOnlyList<FitRecord>> ListBatchFitsAsync(string tenant, string batchId, CancellationToken ct);

    /// <summary>The ids and statuses of a batch's fits in submission order: what waiting on a batch reads, without the rest of each row.</summary>
    async Task<IReadOnlyList<(string Id, FitStatus Status)>> ListBatchFitStatusesAsync(string tenant, string batchId, CancellationToken ct) =>
        [.. (await ListBatchFitsAsync(tenant, batchId, ct)).Select(f => (f.Id, f.Status))];

    /// <summary>Whether any fit of the batch is still queued or running (an index lookup, whatever the batch's size).</summary>
    Task<bool> HasUnfinishedFitsAsync(string batchId, CancellationToken ct);

    /// <summary>Queued plus running fits of a tenant.</summary>
    Task<int> CountActiveAsync(string tenant, CancellationToken ct);

    /// <summary>Queued fits of every tenant: the depth of the queue of record (a metric; an index range count).</summary>
    Task<long> CountQueuedAsync(CancellationToken ct);
}

/// <summary>What clients' requests write, scoped by tenant: fits and batches submitted, cancelled and deleted.</summary>
public interface IFitSubmissions
{
    /// <summary>Stores a new fit atomically, or returns the fit an earlier request with the same tenant and idempotency key created.</summary>
    Task<CreateResult> CreateAsync(NewFit fit, CancellationToken ct);

    /// <summary>
    /// Stores a new fit already ended — its request, points, results, history and outcome — in one transaction: a fit that
    /// ran on its request before it was stored (<c>InlineFits</c>), which nobody ever sees queued or running. With an
    /// idempotency key the tenant already used, stores nothing and returns that fit, as <see cref="CreateAsync"/> does.
    /// The created record carries its whole history.
    /// </summary>
    Task<CreateResult> CreateEndedAsync(NewFit fit, DateTimeOffset startedAt, FitCompletion completion, CancellationToken ct);

    /// <summary>
    /// Stores a batch and all its fits in one transaction: all of them or none. With an idempotency key already used by the
    /// tenant for a batch, stores nothing and names that batch (<see cref="CreateOutcome.Existing"/> when the content is the same).
    /// </summary>
    Task<BatchCreateResult> CreateBatchAsync(NewBatch batch, IReadOnlyList<NewFit> fits, CancellationToken ct);

    /// <summary>
    /// As <see cref="CreateBatchAsync(NewBatch, IReadOnlyList{NewFit}, CancellationToken)"/>, but a store may commit a big
    /// batch's first fits in slices before the rest, calling <paramref name="stored"/> with the count of fits committed so
    /// far (in order), so that they can start while the rest are stored. The batch itself is stored with its last fits,
    /// once all are there: until then no one can read it, and should the request fail (or the process die) before, the
    /// fits stored so far are removed (at once, or by <see cref="IFitWork.DropUnacceptedBatchesAsync"/> at the next start).
    /// By default everything is stored in one transaction, as the overload without <paramref name="stored"/> does.
    /// </summary>
    Task<BatchCreateResult> CreateBatchAsync(NewBatch batch, IReadOnlyList<NewFit> fits, Action<int> stored, CancellationToken ct) =>
        CreateBatchAsync(batch, fits, ct);

    /// <summary>A queued fit is cancelled at once; a running one is asked to stop.</summary>
    Task<CancelOutcome> RequestCancelAsync(string tenant, string id, DateTimeOffset now, CancellationToken ct);

    /// <summary>Removes a fit and everything stored with it.</summary>
    Task<bool> DeleteAsync(string tenant, string id, CancellationToken ct);

    /// <summary>Removes a batch and all its fits.</summary>
    Task<bool> DeleteBatchAsync(string tenant, string id, CancellationToken ct);
}

/// <summary>
/// The workers' side of a fit's lifecycle: start (under a new attempt), progress, end, the outcome computed after the end,
/// and the lists recovery works from. Workers read what they run, so this role reads too.
/// </summary>
public interface IFitWork : IFitReader
{
    /// <summary>
    /// Removes the fits of batches whose storing never finished (the process died while it stored them in slices, see
    /// <see cref="IFitSubmissions.CreateBatchAsync(NewBatch, IReadOnlyList{NewFit}, Action{int}, CancellationToken)"/>):
    /// their request was never answered 202. Recovery calls it at start, before it queues the unfinished fits.
    /// </summary>
    Task DropUnacceptedBatchesAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>
    /// Marks a fit running under a new attempt number and clears the progress of earlier attempts, unless it has
    /// ended, is gone, or has a cancellation pending (it is then marked cancelled).
    /// </summary>
    Task<StartResult> TryStartAsync(string id, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Saves progress of a running fit, appending history without rewriting what was saved; ignored when the
    /// attempt is not the latest. Returns true when a cancellation was requested.
    /// </summary>
    Task<bool> SaveProgressAsync(string id, FitProgressUpdate update, CancellationToken ct);

    /// <summary>Ends a fit. Returns false (and changes nothing) when it had already ended or is gone.</summary>
    Task<bool> CompleteAsync(string id, FitCompletion completion, CancellationToken ct);

    /// <summary>
    /// True when <see cref="CompleteAsync"/> and <see cref="CompleteManyAsync"/> themselves tell the other processes of the
    /// ends they store (a NOTIFY sent with the commit): the caller then announces those ends in its own process only.
    /// </summary>
    bool AnnouncesEnds => false;

    /// <summary>
    /// <see cref="TryStartAsync"/> for each of a chunk of fits, with the points of those it starts, in one write (a
    /// chunk of small fits then costs one commit to start, not one per fit). Results are in the order of <paramref name="ids"/>.
    /// </summary>
    async Task<IReadOnlyList<ChunkStart>> TryStartManyAsync(IReadOnlyList<string> ids, DateTimeOffset now, CancellationToken ct)
    {
        var starts = new List<ChunkStart>(ids.Count);
        foreach (var id in ids)
        {
            var start = await TryStartAsync(id, now, ct);
            var points = start.Outcome == StartOutcome.Run ? await GetPointsAsync(id, ct) : null;
            starts.Add(new ChunkStart(id, start, points));
        }
        return starts;
    }

    /// <summary>
    /// <see cref="CompleteAsync"/> for many fits in one write; returns the ids that ended now (those that had not ended
    /// already and still exist).
    /// </summary>
    async Task<IReadOnlyList<string>> CompleteManyAsync(IReadOnlyList<(string Id, FitCompletion Completion)> completions, CancellationToken ct)
    {
        var ended = new List<string>(completions.Count);
        foreach (var (id, completion) in completions)
        {
            if (await CompleteAsync(id, completion, ct)) ended.Add(id);
        }
        return ended;
    }

    /// <summary>
    /// Replaces the stored outcome of an ended fit: the optimum computed after its end (see <c>optimumStatus</c>), which
    /// is then no longer pending. Returns false (and changes nothing) when the fit is gone or not ended.
    /// </summary>
    Task<bool> SaveOutcomeAsync(string id, string outcomeJson, CancellationToken ct);

    /// <summary>
    /// Ids of ended fits whose optimum is still pending (<see cref="FitCompletion.OptimumPending"/>, no outcome saved since)
    /// that ended before <paramref name="endedBefore"/>, oldest end first, at most <paramref name="limit"/>: the optima a
    /// worker that stopped (crash, kill, shutdown) left to compute. A partial index holds only those rows.
    /// </summary>
    Task<IReadOnlyList<string>> ListPendingOptimaAsync(DateTimeOffset endedBefore, int limit, CancellationToken ct);

    /// <summary><see cref="SaveOutcomeAsync"/> for many fits in one write.</summary>
    async Task SaveOutcomesAsync(IReadOnlyList<(string Id, string OutcomeJson)> outcomes, CancellationToken ct)
    {
        foreach (var (id, outcomeJson) in outcomes) await SaveOutcomeAsync(id, outcomeJson, ct);
    }

    /// <summary>Ids of every queued or running fit, oldest first (recovery at start).</summary>
    Task<IReadOnlyList<string>> ListUnfinishedAsync(CancellationToken ct);
}

/// <summary>Retention: ended fits removed once their time is up.</summary>
public interface IFitRetention
{
    /// <summary>
    /// Retention: removes up to <paramref name="limit"/> fits with <paramref name="status"/> that ended before
    /// <paramref name="endedBefore"/>, oldest first, with their points and history, and batches none of whose fits remain.
    /// One short write (an index range on <c>finished_at</c>), so writers wait for it no longer than for a batch insert.
    /// Returns the number of fits removed.
    /// </summary>
    Task<int> DeleteEndedAsync(FitStatus status, DateTimeOffset endedBefore, int limit, CancellationToken ct) =>
        DeleteEndedAsync(status, endedBefore, limit, RetentionScope.All, ct);

    /// <summary>As above, for the fits (and batches) of the tenants <paramref name="scope"/> names only.</summary>
    Task<int> DeleteEndedAsync(FitStatus status, DateTimeOffset endedBefore, int limit, RetentionScope scope, CancellationToken ct);
}

/// <summary>The points of a fit as stored: x, y and, when the request gave them, the weights.</summary>
public sealed record FitPoints(double[] X, double[] Y, double[]? Weights = null);
