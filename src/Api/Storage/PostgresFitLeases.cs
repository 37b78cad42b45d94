using System.Collections.Concurrent;
using Npgsql;
using static FitService.Api.Storage.FitRows;
using static FitService.Api.Storage.PostgresSchema;
using NpgsqlTypes;

namespace FitService.Api.Storage;

/// <summary>The leases of <see cref="IFitLeases"/>: columns <c>claimed_by</c> and <c>lease_until</c> of <c>fits</c> (schema version 2).</summary>
public sealed partial class PostgresFitStore
{
    /// <summary>A worker holds the fit: a claim whose lease has not run out (by the database's clock).</summary>
    private const string Held = "(claimed_by IS NOT NULL AND lease_until > now())";

    /// <summary>Seconds a queued small fit may wait before a sweep assumes its drain job was lost.</summary>
    private static readonly TimeSpan SmallFitGrace = TimeSpan.FromSeconds(2);

    public string Owner { get; }

    /// <summary>Fits this process holds a lease on but no longer runs: their run failed and the release did not reach the database.</summary>
    private readonly ConcurrentDictionary<string, byte> _givenUp = new();

    public TimeSpan Duration { get; }

    private (string, object?)[] LeaseArgs => [("owner", Owner), ("lease", Duration)];

    public Task<StartResult> TryClaimAsync(string id, DateTimeOffset now, CancellationToken ct) => StartAsync(id, now, leased: true, ct);

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

    private async Task<IReadOnlyList<ClaimedFit>> ClaimSmallAsync(int count, long maxWork, DateTimeOffset now, HashSet<string> givenUp, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // The classic queue statement: lock a few claimable rows, skipping rows another worker is locking right now.
        // A restarted attempt loses the progress of the one before (as in TryStartAsync).
        await using var cmd = Command(conn, null, $"""
            WITH c AS (
                SELECT id FROM fits
                WHERE status < 2 AND NOT cancel_requested AND steps::bigint * points <= @work
                  AND (NOT {Held} OR (claimed_by = @owner AND id = ANY(@givenUp)))
                ORDER BY seq LIMIT @n FOR UPDATE SKIP LOCKED),
            u AS (
                UPDATE fits f SET status = 1, attempt = f.attempt + 1, step = 0, params = NULL, loss = NULL,
                                  started_at = COALESCE(f.started_at, @now), claimed_by = @owner, lease_until = now() + @lease
                FROM c WHERE f.id = c.id
                RETURNING f.*),
            d AS (DELETE FROM fit_history h USING u WHERE h.fit_id = u.id AND u.attempt > 1)
            SELECT {Columns}, p.x, p.y, p.w FROM u JOIN fit_points p ON p.fit_id = u.id ORDER BY u.seq
            """, [("work", maxWork), ("n", count), ("now", Utc(now)), ("givenUp", givenUp.ToArray()), .. LeaseArgs]);
        var claimed = new List<ClaimedFit>(count);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            // The points (x, y, w) follow the fit's columns, however many those are.
            claimed.Add(new ClaimedFit(ReadFit(reader), ReadPoints(reader, reader.FieldCount - 3)));
        }
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

    public async Task<IReadOnlyList<string>> CompleteManyAsync(IReadOnlyList<(string Id, FitCompletion Completion)> completions, CancellationToken ct)
    {
        if (completions.Count == 0) return [];
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // One statement for the chunk. The history becomes one chunk at start 0: later chunks of the attempt go, chunk 0 is
        // overwritten (deleting and inserting one key in one statement would collide).
        await using var cmd = Command(conn, null, """
            WITH v AS (
                SELECT * FROM unnest(@ids, @status, @reason, @step, @params, @loss, @error, @finished, @history, @outcome)
                    AS v(id, status, reason, step, params, loss, error, finished, history, outcome)),
            u AS (
                UPDATE fits f SET status = v.status, stop_reason = v.reason, step = v.step, params = v.params, loss = v.loss,
                                  error = v.error, finished_at = v.finished, claimed_by = NULL, lease_until = NULL,
                                  outcome = v.outcome
                FROM v WHERE f.id = v.id AND f.status < 2
                RETURNING f.id, v.history),
            d AS (DELETE FROM fit_history h USING u WHERE h.fit_id = u.id AND (h.start > 0 OR length(u.history) = 0)),
            i AS (
                INSERT INTO fit_history (fit_id, start, data) SELECT id, 0, history FROM u WHERE length(history) > 0
                ON CONFLICT (fit_id, start) DO UPDATE SET data = excluded.data)
            SELECT id FROM u
            """);
        Array<string>(cmd, "ids", NpgsqlDbType.Text, completions.Select(c => c.Id));
        Array<int>(cmd, "status", NpgsqlDbType.Integer, completions.Select(c => (int)c.Completion.Status));
        Array<string>(cmd, "reason", NpgsqlDbType.Text, completions.Select(c => c.Completion.StopReason));
        Array<int>(cmd, "step", NpgsqlDbType.Integer, completions.Select(c => c.Completion.Step));
        Array<byte[]>(cmd, "params", NpgsqlDbType.Bytea, completions.Select(c => DoubleBlobs.ToBytes(c.Completion.Params)));
        Array<double?>(cmd, "loss", NpgsqlDbType.Double, completions.Select(c => c.Completion.Loss is { } l && double.IsFinite(l) ? l : (double?)null));
        Array<string?>(cmd, "error", NpgsqlDbType.Text, completions.Select(c => c.Completion.Error));
        Array<DateTimeOffset>(cmd, "finished", NpgsqlDbType.TimestampTz, completions.Select(c => Utc(c.Completion.FinishedAt)));
        Array<byte[]>(cmd, "history", NpgsqlDbType.Bytea, completions.Select(c => DoubleBlobs.ToBytes(c.Completion.History)));
        // Whatever the runner computed beside the descent (optimum, gap, chosen rate, finder curve), as CompleteAsync stores it.
        Array<string?>(cmd, "outcome", NpgsqlDbType.Text, completions.Select(c => c.Completion.OutcomeJson));
        var ended = new List<string>(completions.Count);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ended.Add(reader.GetString(0));
        return ended;
    }

    public async Task<SweepResult> SweepAsync(long maxSmallWork, TimeSpan orphanAge, DateTimeOffset now, CancellationToken ct)
    {
        // What this process gave up while the database was away goes back to everyone first, so this sweep hands it out.
        await ReleaseGivenUpAsync(ct);
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // A cancel requested of a fit whose worker died: nobody will see the flag, so end it here.
        var cancelled = await IdsAsync(conn, $"""
            UPDATE fits SET status = @cancelled, stop_reason = 'cancelled', finished_at = @now, claimed_by = NULL, lease_until = NULL
            WHERE status = 1 AND cancel_requested AND lease_until < now()
            RETURNING id
            """, ct, ("cancelled", (int)FitStatus.Cancelled), ("now", Utc(now)));
        // Big fits: a dead worker's, or queued so long that their job may be lost. Handing one out marks it for orphanAge
        // (lease_until without claimed_by), so it is handed out once; the job that runs it takes a real lease.
        var big = await IdsAsync(conn, $"""
            WITH b AS (
                SELECT id FROM fits
                WHERE status < 2 AND NOT cancel_requested AND steps::bigint * points > @work AND NOT {Held}
                  AND (lease_until IS NULL OR lease_until < now()) AND (status = 1 OR created_at < @queuedBefore)
                ORDER BY seq FOR UPDATE SKIP LOCKED)
            UPDATE fits f SET claimed_by = NULL, lease_until = now() + @orphanAge FROM b WHERE f.id = b.id
            RETURNING f.id
            """, ct, ("work", maxSmallWork), ("queuedBefore", Utc(now - orphanAge)), ("orphanAge", orphanAge));
        await using var small = Command(conn, null, $"""
            SELECT EXISTS (
                SELECT 1 FROM fits
                WHERE status < 2 AND NOT cancel_requested AND steps::bigint * points <= @work AND NOT {Held}
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

    private static void Array<T>(NpgsqlCommand cmd, string name, NpgsqlDbType element, IEnumerable<T> values) =>
        cmd.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | element) { Value = values.ToArray() });
}
