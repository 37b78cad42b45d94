using System.Collections.Concurrent;
using Npgsql;
using static FitService.Api.Storage.FitRows;
using static FitService.Api.Storage.PostgresSchema;

namespace FitService.Api.Storage;

/// <summary>
/// The leases of <see cref="IFitLeases"/> over the fits of a <see cref="PostgresFitStore"/>: columns <c>claimed_by</c> and
/// <c>lease_until</c> of <c>fits</c> (schema version 3). One per worker process: it is the process's lease owner.
/// </summary>
public sealed class PostgresFitLeases(PostgresFitStore store) : IFitLeases
{
    /// <summary>A worker holds the fit: a claim whose lease has not run out (by the database's clock).</summary>
    internal const string Held = "(claimed_by IS NOT NULL AND lease_until > now())";

    /// <summary>Seconds a queued small fit may wait before a sweep assumes its drain job was lost.</summary>
    private static readonly TimeSpan SmallFitGrace = TimeSpan.FromSeconds(2);

    private readonly NpgsqlDataSource _dataSource = store.DataSource;

    public string Owner { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Fits this process holds a lease on but no longer runs: their run failed and the release did not reach the database.</summary>
    private readonly ConcurrentDictionary<string, byte> _givenUp = new();

    public TimeSpan Duration => store.LeaseDuration;

    private (string, object?)[] LeaseArgs => [("owner", Owner), ("lease", Duration)];

    // Our own lease on a fit we gave up (its run failed) is ours to take again; one this process runs is not.
    public Task<StartResult> TryClaimAsync(string id, DateTimeOffset now, CancellationToken ct) =>
        store.StartAsync(id, now, new LeaseClaim(Owner, Duration, fit => _givenUp.TryRemove(fit, out _)), ct);

    public Task<IReadOnlyList<string>> CompleteManyAsync(IReadOnlyList<(string Id, FitCompletion Completion)> completions, CancellationToken ct) =>
        store.CompleteManyAsync(completions, ct);

    public bool AnnouncesEnds => store.AnnouncesEnds;

    public async Task<IReadOnlyList<ClaimedFit>> ClaimSmallAsync(int count, long maxWork, DateTimeOffset now, CancellationToken ct)
    {
        // Taken out of the set before the claim, so two drains of this process never both take one of them.
        var givenUp = TakeGivenUp();
        try
        {
            var claimed = await ClaimSmallAsync(count, maxWork, now, givenUp, ct);
            givenUp.ExceptWith(claimed.Select(c => c.Fit.Id));
            return claimed;
        }
        finally
        {
            foreach (var id in givenUp) _givenUp.TryAdd(id, 0);
        }
    }

    /// <summary>
    /// The classic queue statement: lock a few claimable rows, skipping rows another worker is locking right now, in the
    /// order of the partial index of unended fits. A restarted attempt loses the progress of the one before (as in
    /// TryStartAsync). The update changes no indexed column (schema version 12), so it can be HOT.
    /// </summary>
    internal const string ClaimSql = $"""
        WITH c AS (
            SELECT id FROM fits
            WHERE {PostgresFitStore.Unended} AND NOT cancel_requested AND steps::bigint * points <= @work
              AND (NOT {Held} OR (claimed_by = @owner AND id = ANY(@givenUp)))
            ORDER BY seq LIMIT @n FOR UPDATE SKIP LOCKED),
        u AS (
            UPDATE fits f SET status = 1, attempt = f.attempt + 1, step = 0, params = NULL, loss = NULL,
                              started_at = COALESCE(f.started_at, @now), claimed_by = @owner, lease_until = now() + @lease
            FROM c WHERE f.id = c.id
            RETURNING f.*),
        d AS (DELETE FROM fit_history h USING u WHERE h.fit_id = u.id AND u.attempt > 1)
        SELECT {Columns}, p.x, p.y, p.w FROM u JOIN fit_points p ON p.fit_id = u.id
        """;

    /// <summary>
    /// The claim's planner settings, for its transaction only. With no sort allowed, the one plan left for <c>ORDER BY seq
    /// LIMIT n</c> is the ordered walk of <c>ix_fits_unended</c> that stops after n claimable rows. Statistics taken while
    /// few fits were unended, then a batch's COPY of thousands, otherwise make the planner expect a handful of rows, read
    /// every unended fit by a bitmap scan and sort them all to take n (2,928 rows sorted for 32 in a bench run). The claim
    /// has no other sort (its rows are put in order here), and no JIT: a plan that had to sort anyway would cost enough to
    /// be compiled on every call.
    /// </summary>
    internal const string ClaimPlan = "SET LOCAL enable_sort = off; SET LOCAL jit = off";

    private async Task<IReadOnlyList<ClaimedFit>> ClaimSmallAsync(int count, long maxWork, DateTimeOffset now, HashSet<string> givenUp, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // Committed only once every row is read: a claim whose rows never reach this process leaves no lease behind.
        await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, ct);
        var claimed = new List<ClaimedFit>(count);
        await using (var cmd = Command(conn, tx, $"{ClaimPlan};\n{ClaimSql}",
            [("work", maxWork), ("n", count), ("now", Utc(now)), ("givenUp", givenUp.ToArray()), .. LeaseArgs]))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                // The points (x, y, w) follow the fit's columns, however many those are.
                claimed.Add(new ClaimedFit(Read(reader, Time), ReadPoints(reader, reader.FieldCount - 3)));
            }
        }
        await tx.CommitAsync(CancellationToken.None);
        // Run in the order they were queued in.
        claimed.Sort((a, b) => a.Fit.Seq.CompareTo(b.Fit.Seq));
        return claimed;
    }

    public async Task RenewAsync(IReadOnlyCollection<string> ids, CancellationToken ct)
    {
        if (ids.Count == 0) return;
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await ExecAsync(conn, null, "UPDATE fits SET lease_until = now() + @lease WHERE id = ANY(@ids) AND claimed_by = @owner AND status = 1", ct,
            [("ids", ids.ToArray()), .. LeaseArgs]);
    }

    public async Task ReleaseAsync(IReadOnlyCollection<string> ids, CancellationToken ct)
    {
        if (ids.Count == 0) return;
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await ExecAsync(conn, null, "UPDATE fits SET claimed_by = NULL, lease_until = now() WHERE id = ANY(@ids) AND claimed_by = @owner AND status = 1", ct,
            ("ids", ids.ToArray()), ("owner", Owner));
    }

    public async Task GiveUpAsync(IReadOnlyCollection<string> ids)
    {
        if (ids.Count == 0) return;
        foreach (var id in ids) _givenUp.TryAdd(id, 0);
        await ReleaseGivenUpAsync(CancellationToken.None);
    }

    /// <summary>Releases the fits this process gave up; those the database does not take now stay remembered. Never throws.</summary>
    private async Task ReleaseGivenUpAsync(CancellationToken ct)
    {
        var ids = TakeGivenUp();
        if (ids.Count == 0) return;
        try
        {
            await ReleaseAsync(ids, ct);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or OperationCanceledException)
        {
            foreach (var id in ids) _givenUp.TryAdd(id, 0);
        }
    }

    private HashSet<string> TakeGivenUp()
    {
        var taken = new HashSet<string>();
        foreach (var id in _givenUp.Keys)
        {
            if (_givenUp.TryRemove(id, out _)) taken.Add(id);
        }
        return taken;
    }

    public async Task<SweepResult> SweepAsync(long maxSmallWork, TimeSpan orphanAge, DateTimeOffset now, CancellationToken ct)
    {
        // What this process gave up while the database was away goes back to everyone first, so this sweep hands it out.
        await ReleaseGivenUpAsync(ct);
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // A cancel requested of a fit whose worker died: nobody will see the flag, so end it here.
        var cancelled = await IdsAsync(conn, $"""
            UPDATE fits SET status = @cancelled, stop_reason = 'cancelled', finished_at = @now, claimed_by = NULL, lease_until = NULL
            WHERE finished_at IS NULL AND status = 1 AND cancel_requested AND lease_until < now()
            RETURNING id
            """, ct, ("cancelled", (int)FitStatus.Cancelled), ("now", Utc(now)));
        // Big fits: a dead worker's, or queued so long that their job may be lost. Handing one out marks it for orphanAge
        // (lease_until without claimed_by), so it is handed out once; the job that runs it takes a real lease.
        var big = await IdsAsync(conn, $"""
            WITH b AS (
                SELECT id FROM fits
                WHERE {PostgresFitStore.Unended} AND NOT cancel_requested AND steps::bigint * points > @work AND NOT {Held}
                  AND (lease_until IS NULL OR lease_until < now()) AND (status = 1 OR created_at < @queuedBefore)
                ORDER BY seq FOR UPDATE SKIP LOCKED)
            UPDATE fits f SET claimed_by = NULL, lease_until = now() + @orphanAge FROM b WHERE f.id = b.id
            RETURNING f.id
            """, ct, ("work", maxSmallWork), ("queuedBefore", Utc(now - orphanAge)), ("orphanAge", orphanAge));
        await using var small = Command(conn, null, $"""
            SELECT EXISTS (
                SELECT 1 FROM fits
                WHERE {PostgresFitStore.Unended} AND NOT cancel_requested AND steps::bigint * points <= @work AND NOT {Held}
                  AND (status = 1 OR created_at < @queuedBefore))
            """, ("work", maxSmallWork), ("queuedBefore", Utc(now - SmallFitGrace)));
        return new SweepResult(big, (bool)(await small.ExecuteScalarAsync(ct))!, cancelled);
    }

    private static async Task<List<string>> IdsAsync(NpgsqlConnection conn, string sql, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(conn, null, sql, args);
        var ids = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetString(0));
        return ids;
    }
}

/// <summary>A start under a lease: the claiming process, the lease's length, and whether a fit it holds is one it gave up (taken back).</summary>
internal sealed record LeaseClaim(string Owner, TimeSpan Duration, Func<string, bool> TakeBack);
