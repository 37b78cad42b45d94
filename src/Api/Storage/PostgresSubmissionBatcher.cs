using Npgsql;
using NpgsqlTypes;

namespace FitService.Api.Storage;

/// <summary>
/// Group insert of single fits on PostgreSQL, as <see cref="SqliteDatabase"/> groups commits: submissions that arrive
/// while <see cref="GroupsInFlight"/> groups are being written wait for one of them, then the next caller to get a slot
/// writes all that have gathered in one statement (each fit's row and points together, one round trip and one commit).
/// A lone submission is written at once, alone; under load a statement carries many, so one API process is no longer
/// bound by a round trip and a commit per fit.
/// <para>
/// The fit row is the queue entry of a small fit (drain jobs claim queued rows), so a fit returned here is stored and
/// queued, committed before its caller answers. A fit whose idempotency key is taken (by a fit already stored, by a
/// concurrent group, or by another member of its own group) is skipped by <c>ON CONFLICT DO NOTHING</c>, without
/// failing the others; its caller gets <c>null</c> and resolves the key on the single-fit path. If the statement
/// fails, nothing of it is stored: a fault of the whole database (unreachable, restarting, full) fails every member
/// alike; any other error (one member's bad value, a deadlock) gives each member <c>null</c>, so each runs alone and
/// only the culprit fails.
/// </para>
/// </summary>
internal sealed class PostgresSubmissionBatcher(NpgsqlDataSource dataSource, string columns, Func<NpgsqlDataReader, FitRecord> read) : IDisposable
{
    /// <summary>Statements under way at once from one process: a second keeps the database busy while the first one's answer travels.</summary>
    public const int GroupsInFlight = 2;

    /// <summary>Most fits one statement takes: enough to share a round trip widely, few enough to keep its latency short.</summary>
    public const int MaxGroup = 256;

    private readonly SemaphoreSlim _slots = new(GroupsInFlight, GroupsInFlight);
    private readonly System.Collections.Concurrent.ConcurrentQueue<Submission> _pending = new();

    /// <summary>
    /// Stores <paramref name="fit"/> with others that arrive meanwhile. Returns its stored record, or <c>null</c> when it
    /// was not stored here (its key is taken, or its group failed on another member): then the caller stores it alone.
    /// </summary>
    public async Task<FitRecord?> TryInsertAsync(NewFit fit, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var submission = new Submission(fit);
        _pending.Enqueue(submission);
        while (!submission.Done.Task.IsCompleted)
        {
            // Not cancellable once queued: a leader may already be writing this fit, and its caller must hear how it went.
            await _slots.WaitAsync(CancellationToken.None);
            var written = 0;
            try
            {
                if (!submission.Done.Task.IsCompleted) written = await WritePendingAsync();
            }
            finally
            {
                _slots.Release();
            }
            // Nothing was left to write: this fit is in a group another caller is writing, whose end completes it
            // (taking the free slot again and again would only spin).
            if (written == 0) break;
        }
        return await submission.Done.Task;
    }

    /// <summary>Writes what is pending as one group; returns how many submissions it took.</summary>
    private async Task<int> WritePendingAsync()
    {
        var group = new List<Submission>();
        while (group.Count < MaxGroup && _pending.TryDequeue(out var next)) group.Add(next);
        if (group.Count == 0) return 0;
        try
        {
            var stored = await InsertAsync(group.Select(s => s.Fit).ToList(), CancellationToken.None);
            foreach (var submission in group) submission.Done.TrySetResult(stored.GetValueOrDefault(submission.Fit.Id));
        }
        catch (Exception e) when (IsDatabaseWide(e))
        {
            foreach (var submission in group) submission.Done.TrySetException(e);
        }
        catch (Exception)
        {
            // Rolled back as a whole: each member goes alone, so only the one at fault fails.
            foreach (var submission in group) submission.Done.TrySetResult(null);
        }
        return group.Count;
    }

    /// <summary>
    /// One statement: the fits and their points, those whose key is taken skipped. Returns the stored records by id.
    /// Keyed fits go in key order, so two groups racing for the same keys wait on each other rather than deadlock.
    /// </summary>
    internal async Task<Dictionary<string, FitRecord>> InsertAsync(IReadOnlyList<NewFit> fits, CancellationToken ct)
    {
        var ordered = fits.OrderBy(f => f.IdempotencyKey is null).ThenBy(f => f.Tenant, StringComparer.Ordinal)
            .ThenBy(f => f.IdempotencyKey, StringComparer.Ordinal).ToList();
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand($"""
            WITH i AS (
                SELECT * FROM unnest(@id, @t, @steps, @every, @created, @request, @label, @points, @batch, @key, @hash, @kind, @trace, @x, @y, @w)
                    WITH ORDINALITY AS i(id, tenant, steps, history_every, created_at, request, label, points, batch_id,
                                         idempotency_key, request_hash, kind, trace_parent, x, y, w, ord)),
            f AS (
                INSERT INTO fits (id, tenant, status, steps, history_every, created_at, request, label, points, batch_id,
                                  idempotency_key, request_hash, kind, trace_parent)
                SELECT id, tenant, @queued, steps, history_every, created_at, request, label, points, batch_id,
                       idempotency_key, request_hash, kind, trace_parent
                FROM i ORDER BY ord
                ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING *),
            p AS (INSERT INTO fit_points (fit_id, x, y, w) SELECT i.id, i.x, i.y, i.w FROM i JOIN f ON f.id = i.id)
            SELECT {columns} FROM f
            """, conn);
        Add(cmd, "id", NpgsqlDbType.Text, ordered.Select(f => f.Id));
        Add(cmd, "t", NpgsqlDbType.Text, ordered.Select(f => f.Tenant));
        Add(cmd, "steps", NpgsqlDbType.Integer, ordered.Select(f => f.Steps));
        Add(cmd, "every", NpgsqlDbType.Integer, ordered.Select(f => f.HistoryEvery));
        // Kept to the millisecond, as the single-fit insert keeps them.
        Add(cmd, "created", NpgsqlDbType.TimestampTz, ordered.Select(f => DateTimeOffset.FromUnixTimeMilliseconds(f.CreatedAt.ToUnixTimeMilliseconds())));
        Add(cmd, "request", NpgsqlDbType.Text, ordered.Select(f => f.RequestJson));
        Add(cmd, "label", NpgsqlDbType.Text, ordered.Select(f => f.Label));
        Add(cmd, "points", NpgsqlDbType.Integer, ordered.Select(f => f.X.Length));
        Add(cmd, "batch", NpgsqlDbType.Text, ordered.Select(f => f.BatchId));
        Add(cmd, "key", NpgsqlDbType.Text, ordered.Select(f => f.IdempotencyKey));
        Add(cmd, "hash", NpgsqlDbType.Text, ordered.Select(f => f.RequestHash));
        Add(cmd, "kind", NpgsqlDbType.Text, ordered.Select(f => f.Kind));
        Add(cmd, "trace", NpgsqlDbType.Text, ordered.Select(f => f.TraceParent));
        Add(cmd, "x", NpgsqlDbType.Bytea, ordered.Select(f => DoubleBlobs.ToBytes(f.X)));
        Add(cmd, "y", NpgsqlDbType.Bytea, ordered.Select(f => DoubleBlobs.ToBytes(f.Y)));
        Add(cmd, "w", NpgsqlDbType.Bytea, ordered.Select(f => f.Weights is null ? null : DoubleBlobs.ToBytes(f.Weights)));
        cmd.Parameters.AddWithValue("queued", (int)FitStatus.Queued);
        var stored = new Dictionary<string, FitRecord>(ordered.Count);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var fit = read(reader);
            stored[fit.Id] = fit;
        }
        return stored;
    }

    private static void Add<T>(NpgsqlCommand cmd, string name, NpgsqlDbType type, IEnumerable<T> values) =>
        cmd.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = values.ToArray() });

    /// <summary>Faults of the database rather than of a row: running the members one by one would only fail again, slower.</summary>
    private static bool IsDatabaseWide(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("53", StringComparison.Ordinal)
                               || p.SqlState.StartsWith("57", StringComparison.Ordinal),
        NpgsqlException or TimeoutException or IOException => true,
        _ => false,
    };

    public void Dispose() => _slots.Dispose();

    private sealed class Submission(NewFit fit)
    {
        public NewFit Fit { get; } = fit;

        public TaskCompletionSource<FitRecord?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
