using System.Data;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using static FitService.Api.Storage.FitRows;
using static FitService.Api.Storage.SqliteDatabase;

namespace FitService.Api.Storage;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, written through <see cref="SqliteDatabase"/>'s one writer.
/// </summary>
public sealed class SqliteFitStore : IFitStore, IAsyncDisposable
{
    // Queries run per submission or per fit end. SQLite's planner prefers ix_fits_batch (every fit of a batch) over the
    // partial index of its unfinished fits, walking past all finished fits on each call (quadratic over a batch of
    // 10,000), so these name their index; SqliteQueryPlanTests checks the plan of each. An unfinished fit is one with no
    // finished_at (schema 11): a fit's start then writes no index.
    internal const string UnfinishedSql = "SELECT id FROM fits INDEXED BY ix_fits_open WHERE finished_at IS NULL ORDER BY seq";
    internal const string QueuedCountSql = "SELECT COUNT(*) FROM fits INDEXED BY ix_fits_open WHERE finished_at IS NULL AND status = 0";
    internal const string PendingOptimaSql =
        "SELECT id FROM fits INDEXED BY ix_fits_optimum_pending WHERE optimum_pending = 1 AND finished_at < $before ORDER BY finished_at LIMIT $limit";
    internal const string ActiveCountSql = "SELECT COUNT(*) FROM fits INDEXED BY ix_fits_open WHERE tenant = $t AND finished_at IS NULL";
    internal const string UnfinishedInBatchSql =
        "SELECT 1 FROM fits INDEXED BY ix_fits_batch_open WHERE batch_id = $b AND finished_at IS NULL LIMIT 1";

    private readonly SqliteDatabase _db;
    private readonly bool _ownsDatabase;

    public SqliteFitStore(SqliteDatabase db) => _db = db;

    /// <summary>A store over a database of its own (tests, tools); the service shares one <see cref="SqliteDatabase"/> between its stores.</summary>
    public SqliteFitStore(string connectionString, string contentRoot) : this(new SqliteDatabase(connectionString, contentRoot)) => _ownsDatabase = true;

    public string DatabasePath => _db.Path;

    /// <summary>Brings the file to <see cref="SqliteSchema.Version"/> (the delivery store's tables included).</summary>
    public Task InitializeAsync(CancellationToken ct) => SqliteSchema.MigrateAsync(_db, ct);

    public Task<CreateResult> CreateAsync(NewFit fit, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        long seq;
        if (await FindByKeyAsync(conn, tx, fit, ct) is { } earlier) return earlier;
        await using (var insert = Command(conn, tx, """
            INSERT INTO fits (id, tenant, status, steps, history_every, created_at, request, label, points, batch_id, idempotency_key, request_hash, kind, trace_parent)
            VALUES ($id, $t, 0, $steps, $every, $created, $request, $label, $points, $batch, $key, $hash, $kind, $trace) RETURNING seq
            """, ("$kind", fit.Kind), ("$trace", fit.TraceParent),
            ("$id", fit.Id), ("$t", fit.Tenant), ("$steps", fit.Steps), ("$every", fit.HistoryEvery),
            ("$created", fit.CreatedAt.ToUnixTimeMilliseconds()), ("$request", fit.RequestJson), ("$label", fit.Label),
            ("$points", fit.X.Length), ("$batch", fit.BatchId), ("$key", fit.IdempotencyKey), ("$hash", fit.RequestHash)))
        {
            seq = (long)(await insert.ExecuteScalarAsync(ct))!;
        }
        await ExecAsync(conn, tx, "INSERT INTO fit_points (fit_id, x, y, w) VALUES ($id, $x, $y, $w)", ct,
            ("$id", fit.Id), ("$x", DoubleBlobs.ToBytes(fit.X)), ("$y", DoubleBlobs.ToBytes(fit.Y)), ("$w", WeightsBlob(fit.Weights)));
        var created = FitLifecycle.Queued(fit) with { Seq = seq };
        return new CreateResult(CreateOutcome.Created, created);
    }, ct);

    /// <summary>The fit an earlier request stored under this fit's idempotency key (same content or not), if any.</summary>
    private static async Task<CreateResult?> FindByKeyAsync(SqliteConnection conn, SqliteTransaction tx, NewFit fit, CancellationToken ct)
    {
        if (fit.IdempotencyKey is null) return null;
        var existing = await QuerySingleAsync(conn, tx, $"SELECT {SqliteColumns} FROM fits WHERE tenant = $t AND idempotency_key = $k",
            ct, ("$t", fit.Tenant), ("$k", fit.IdempotencyKey));
        return existing is null ? null
            : new CreateResult(existing.RequestHash == fit.RequestHash ? CreateOutcome.Existing : CreateOutcome.Conflict, existing);
    }

    /// <summary>
    /// A fit stored once, ended (<see cref="Jobs.InlineFits"/>): its row is written whole, so its outcome stays in it (a
    /// fit ended by a worker keeps its outcome in <c>fit_outcomes</c>, schema 12, where it does not grow the row).
    /// </summary>
    public Task<CreateResult> CreateEndedAsync(NewFit fit, DateTimeOffset startedAt, FitCompletion completion, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        // The one writer serialises creates, so looking the key up inside the write transaction is race-free.
        if (await FindByKeyAsync(conn, tx, fit, ct) is { } earlier) return earlier;
        var ended = FitLifecycle.EndedAtOnce(fit, startedAt, completion);
        long seq;
        await using (var insert = Command(conn, tx, """
            INSERT INTO fits (id, tenant, status, stop_reason, step, steps, params, loss, history_every, created_at, started_at, finished_at,
                              error, request, label, points, batch_id, idempotency_key, request_hash, attempt, kind, outcome, optimum_pending, trace_parent)
            VALUES ($id, $t, $s, $reason, $step, $steps, $params, $loss, $every, $created, $started, $finished,
                    $error, $request, $label, $points, $batch, $key, $hash, $attempt, $kind, $outcome, $pending, $trace) RETURNING seq
            """, ("$id", fit.Id), ("$t", fit.Tenant), ("$s", (int)ended.Status), ("$reason", ended.StopReason), ("$step", ended.Step),
            ("$steps", fit.Steps), ("$params", DoubleBlobs.ToBytes(completion.Params)), ("$loss", Finite(completion.Loss)),
            ("$every", fit.HistoryEvery), ("$created", ended.CreatedAt.ToUnixTimeMilliseconds()),
            ("$started", ended.StartedAt!.Value.ToUnixTimeMilliseconds()), ("$finished", ended.FinishedAt!.Value.ToUnixTimeMilliseconds()),
            ("$error", ended.Error), ("$request", fit.RequestJson), ("$label", fit.Label), ("$points", fit.X.Length), ("$batch", fit.BatchId),
            ("$key", fit.IdempotencyKey), ("$hash", fit.RequestHash), ("$attempt", ended.Attempt), ("$kind", fit.Kind),
            ("$outcome", ended.OutcomeJson), ("$pending", completion.OptimumPending ? 1 : 0), ("$trace", fit.TraceParent)))
        {
            seq = (long)(await insert.ExecuteScalarAsync(ct))!;
        }
        await ExecAsync(conn, tx, """
            INSERT INTO fit_points (fit_id, x, y, w) VALUES ($id, $x, $y, $w);
            INSERT INTO fit_history (fit_id, start, data) SELECT $id, 0, $data WHERE length($data) > 0;
            """, ct, ("$id", fit.Id), ("$x", DoubleBlobs.ToBytes(fit.X)), ("$y", DoubleBlobs.ToBytes(fit.Y)), ("$w", WeightsBlob(fit.Weights)),
            ("$data", DoubleBlobs.ToBytes(completion.History)));
        return new CreateResult(CreateOutcome.Created, ended with { Seq = seq });
    }, ct);

    public Task<FitRecord?> GetAsync(string tenant, string id, int historyLimit, CancellationToken ct) =>
        GetOfKindAsync(tenant, id, FitKinds.Fit, historyLimit, ct);

    public Task<FitRecord?> GetFinderRunAsync(string tenant, string id, CancellationToken ct) =>
        GetOfKindAsync(tenant, id, FitKinds.LearningRateFinder, 0, ct);

    private async Task<FitRecord?> GetOfKindAsync(string tenant, string id, string kind, int historyLimit, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        // One read transaction: the record and its history are one snapshot.
        await using var tx = conn.BeginTransaction(deferred: true);
        var fit = await QuerySingleAsync(conn, tx, $"SELECT {SqliteColumns} FROM fits WHERE id = $id AND tenant = $t AND kind = $kind", ct,
            ("$id", id), ("$t", tenant), ("$kind", kind));
        if (fit is null || historyLimit <= 0) return fit;
        var (history, total) = await ReadHistoryAsync(conn, tx, id, 0, historyLimit, ct);
        return fit with { History = history, HistoryTotal = total };
    }

    public async Task<FitRecord?> GetForWorkerAsync(string id, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        return await QuerySingleAsync(conn, null, $"SELECT {SqliteColumns} FROM fits WHERE id = $id", ct, ("$id", id));
    }

    public async Task<FitPoints?> GetPointsAsync(string id, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, PointsSql, ("$id", id));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadPoints(reader, 0) : null;
    }

    // A fit's points: its own row, or (schema 13) its batch's shared row, keyed by the batch's id (InsertSharedPoints).
    private const string PointsSql = """
        SELECT x, y, w FROM fit_points WHERE fit_id = $id
        UNION ALL SELECT shared.x, shared.y, shared.w FROM fits JOIN fit_points shared ON shared.fit_id = fits.batch_id WHERE fits.id = $id
        LIMIT 1
        """;

    private const string PointsColumns =
        "COALESCE(own.x, shared.x), COALESCE(own.y, shared.y), CASE WHEN own.fit_id IS NULL THEN shared.w ELSE own.w END";
    private const string PointsJoin =
        "LEFT JOIN fit_points own ON own.fit_id = fits.id LEFT JOIN fit_points shared ON own.fit_id IS NULL AND shared.fit_id = fits.batch_id";

    private static object? WeightsBlob(double[]? weights) => weights is null ? null : DoubleBlobs.ToBytes(weights);

    public async Task<(double[] Page, int Total)?> GetHistoryAsync(string tenant, string id, int offset, int limit, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var tx = conn.BeginTransaction(deferred: true);
        await using (var exists = Command(conn, tx, "SELECT 1 FROM fits WHERE id = $id AND tenant = $t AND kind = 'fit'", ("$id", id), ("$t", tenant)))
        {
            if (await exists.ExecuteScalarAsync(ct) is null) return null;
        }
        return await ReadHistoryAsync(conn, tx, id, offset, limit, ct);
    }

    public async Task<IReadOnlyList<FitRecord>> ListAsync(string tenant, FitQuery query, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, ListSql(query, '$', SqliteColumns), ("$t", tenant), ("$status", (int?)query.Status), ("$label", query.Label),
            ("$batch", query.BatchId), ("$before", query.BeforeSeq), ("$limit", query.Limit));
        return await ReadAllAsync(cmd, Time, ct);
    }

    public Task<StartResult> TryStartAsync(string id, DateTimeOffset now, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        await using var statements = new LifecycleStatements(conn, tx);
        return await statements.StartAsync(id, now, ct);
    }, ct);

    /// <summary>
    /// A chunk's fits started, mostly without a write. The writer is the embedded store's one serial resource, and a start
    /// that marks its fits running rewrites every row the chunk's end rewrites again a few milliseconds later. So the rows
    /// and points are read on a reader connection, and a fit queued and never started
    /// (<see cref="FitLifecycle.MayStartUnstored"/>) runs without a write: its end stores the start with the result
    /// (<see cref="FitCompletion.UnstoredStart"/>). Fits gone or ended need no write either. The rest (a fit restarted after
    /// an attempt, or with a cancellation pending) are started in one write, as before: one read of their rows with their
    /// points, one update of those to run, and a cancellation or an earlier attempt's history handled per fit.
    /// </summary>
    public async Task<IReadOnlyList<ChunkStart>> TryStartManyAsync(IReadOnlyList<string> ids, DateTimeOffset now, CancellationToken ct)
    {
        // An id named twice is started once (a chunk's ids are distinct; FitJob makes them so).
        var distinct = ids.Distinct().ToArray();
        var rows = new Dictionary<string, (FitRecord Fit, FitPoints? Points)>(distinct.Length, StringComparer.Ordinal);
        await using (var conn = await OpenReaderAsync(ct))
        {
            foreach (var part in distinct.Chunk(MaxRowsPerStatement)) await ReadStartRowsAsync(conn, null, part, rows, ct);
        }
        var at = FitLifecycle.Millis(now);
        var starts = new Dictionary<string, ChunkStart>(distinct.Length, StringComparer.Ordinal);
        List<string>? toWrite = null;
        foreach (var id in distinct)
        {
            var (fit, points) = rows.GetValueOrDefault(id);
            if (FitLifecycle.StartRefused(fit) is { } refused) starts[id] = new ChunkStart(id, refused, null);
            else if (FitLifecycle.MayStartUnstored(fit!) && points is not null) starts[id] = new ChunkStart(id, FitLifecycle.Started(fit!, at), points) { Stored = false };
            else (toWrite ??= []).Add(id);
        }
        if (toWrite is not null)
        {
            var written = await WriteAsync<List<ChunkStart>>(async (conn, tx) =>
            {
                var list = new List<ChunkStart>(toWrite.Count);
                await using var statements = new LifecycleStatements(conn, tx);
                foreach (var part in toWrite.Chunk(MaxRowsPerStatement)) list.AddRange(await StartPartAsync(conn, tx, statements, part, now, ct));
                return list;
            }, ct);
            foreach (var start in written) starts[start.Id] = start;
        }
        return [.. distinct.Select(id => starts[id])];
    }

    /// <summary>Fits one start's statements name at most (SQLite allows 32,766 parameters; a start binds one per fit).</summary>
    private const int MaxRowsPerStatement = 256;

    private static async Task<List<ChunkStart>> StartPartAsync(
        SqliteConnection conn, SqliteTransaction tx, LifecycleStatements statements, string[] ids, DateTimeOffset now, CancellationToken ct)
    {
        var rows = new Dictionary<string, (FitRecord Fit, FitPoints? Points)>(ids.Length, StringComparer.Ordinal);
        await ReadStartRowsAsync(conn, tx, ids, rows, ct);
        var ms = now.ToUnixTimeMilliseconds();
        var at = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        var starts = new List<ChunkStart>(ids.Length);
        var run = new List<long>(ids.Length);
        List<string>? dropHistory = null;
        foreach (var id in ids)
        {
            var (fit, points) = rows.GetValueOrDefault(id);
            if (FitLifecycle.StartRefused(fit) is { } refused)
            {
                starts.Add(new ChunkStart(id, refused, null));
                continue;
            }
            if (fit!.CancelRequested)
            {
                starts.Add(new ChunkStart(id, await statements.CancelAtStartAsync(fit, ms, ct), null));
                continue;
            }
            run.Add(fit.Seq);
            if (FitLifecycle.MayHaveHistory(fit)) (dropHistory ??= []).Add(id);
            starts.Add(new ChunkStart(id, FitLifecycle.Started(fit, at), points));
        }
        if (run.Count > 0)
        {
            // attempt + 1 and the first start's time, as FitLifecycle.Started computes them from the row read above. By seq,
            // the table's own key: no search of the id index.
            await ExecAsync(conn, tx, $"""
                UPDATE fits SET status = $s, attempt = attempt + 1, step = 0, params = NULL, loss = NULL,
                                started_at = COALESCE(started_at, $now) WHERE seq IN ({Parameters("$i", run.Count)})
                """, ct, [("$s", (int)FitStatus.Running), ("$now", ms), .. run.Select((seq, i) => ("$i" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), (object?)seq))]);
        }
        if (dropHistory is not null)
        {
            await ExecAsync(conn, tx, $"DELETE FROM fit_history WHERE fit_id IN ({Parameters("$i", dropHistory.Count)})", ct, Named("$i", dropHistory));
        }
        return starts;
    }

    /// <summary>The rows of <paramref name="ids"/> with their points (null when a fit has none), by id; a fit gone is left out.</summary>
    private static async Task ReadStartRowsAsync(
        SqliteConnection conn, SqliteTransaction? tx, string[] ids, Dictionary<string, (FitRecord Fit, FitPoints? Points)> rows, CancellationToken ct)
    {
        await using var read = Command(conn, tx, $"""
            SELECT {SqliteColumns}, {PointsColumns}
            FROM fits {PointsJoin} WHERE fits.id IN ({Parameters("$i", ids.Length)})
            """, Named("$i", ids));
        await using var reader = await read.ExecuteReaderAsync(ct);
        var pointsAt = reader.FieldCount - 3;
        while (await reader.ReadAsync(ct))
        {
            var fit = ReadFit(reader);
            rows[fit.Id] = (fit, reader.IsDBNull(pointsAt) ? null : ReadPoints(reader, pointsAt));
        }
    }

    /// <summary><c>$i0, $i1, …</c>: the parameters of an <c>IN</c> list.</summary>
    private static string Parameters(string prefix, int count) =>
        string.Join(", ", Enumerable.Range(0, count).Select(i => prefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static (string, object?)[] Named(string prefix, IReadOnlyList<string> values) =>
        [.. values.Select((v, i) => (prefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture), (object?)v))];

    /// <summary>
    /// The statements that start and end fits, each prepared once per write and run again for every fit of a chunk:
    /// SQLite compiles a statement's text anew for each new command, which cost a chunk of small fits more than the
    /// rows it wrote (six compilations per fit).
    /// </summary>
    private sealed class LifecycleStatements(SqliteConnection conn, SqliteTransaction tx) : IAsyncDisposable
    {
        private SqliteCommand? _read, _cancelAtStart, _start, _dropStartHistory;
        private SqliteRawStatement? _complete, _outcome, _dropHistory, _history;

        public async Task<StartResult> StartAsync(string id, DateTimeOffset now, CancellationToken ct)
        {
            _read ??= Command(conn, tx, $"SELECT {SqliteColumns} FROM fits WHERE id = $id", ("$id", ""));
            _read.Parameters["$id"].Value = id;
            FitRecord? fit;
            await using (var reader = await _read.ExecuteReaderAsync(ct))
            {
                fit = await reader.ReadAsync(ct) ? ReadFit(reader) : null;
            }
            if (FitLifecycle.StartRefused(fit) is { } refused) return refused;
            var ms = now.ToUnixTimeMilliseconds();
            if (fit!.CancelRequested) return await CancelAtStartAsync(fit, ms, ct);
            var started = FitLifecycle.Started(fit, DateTimeOffset.FromUnixTimeMilliseconds(ms));
            _start ??= Command(conn, tx, """
                UPDATE fits SET status = $s, attempt = $a, step = 0, params = NULL, loss = NULL,
                                started_at = COALESCE(started_at, $now) WHERE id = $id
                """, ("$s", (int)FitStatus.Running), ("$a", 0), ("$now", 0L), ("$id", ""));
            _start.Parameters["$a"].Value = started.Attempt;
            _start.Parameters["$now"].Value = ms;
            _start.Parameters["$id"].Value = id;
            await _start.ExecuteNonQueryAsync(ct);
            if (FitLifecycle.MayHaveHistory(fit))
            {
                _dropStartHistory ??= Command(conn, tx, "DELETE FROM fit_history WHERE fit_id = $id", ("$id", ""));
                _dropStartHistory.Parameters["$id"].Value = id;
                await _dropStartHistory.ExecuteNonQueryAsync(ct);
            }
            return started;
        }

        /// <summary>A start of a fit whose cancellation is pending: it ends cancelled instead of running.</summary>
        public async Task<StartResult> CancelAtStartAsync(FitRecord fit, long ms, CancellationToken ct)
        {
            _cancelAtStart ??= Command(conn, tx, "UPDATE fits SET status = $s, stop_reason = 'cancelled', finished_at = $now WHERE id = $id",
                ("$s", (int)FitStatus.Cancelled), ("$now", 0L), ("$id", ""));
            _cancelAtStart.Parameters["$now"].Value = ms;
            _cancelAtStart.Parameters["$id"].Value = fit.Id;
            await _cancelAtStart.ExecuteNonQueryAsync(ct);
            return FitLifecycle.CancelledAtStart(fit);
        }

        /// <summary>
        /// Stores a fit's end, if it has not ended yet. Run once per fit of a chunk, so through SQLite's own API (parameters
        /// bound by position): see <see cref="SqliteRawStatement"/>.
        /// </summary>
        public Task<bool> CompleteAsync(string id, FitCompletion completion, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            // A start that was not stored (ChunkStart.Stored) is stored here: the first attempt, and the start's time.
            _complete ??= new SqliteRawStatement(conn, """
                UPDATE fits SET status = ?1, stop_reason = ?2, step = ?3, params = ?4, loss = ?5, error = ?6,
                                finished_at = ?7, optimum_pending = ?8,
                                attempt = CASE WHEN ?10 IS NULL THEN attempt ELSE max(attempt, 1) END, started_at = COALESCE(started_at, ?10)
                WHERE id = ?9 AND status < 2
                """);
            _complete.Bind(1, (int)completion.Status);
            _complete.Bind(2, completion.StopReason);
            _complete.Bind(3, completion.Step);
            _complete.Bind(4, DoubleBlobs.ToBytes(completion.Params));
            _complete.Bind(5, completion.Loss is { } loss && double.IsFinite(loss) ? loss : null);
            _complete.Bind(6, completion.Error);
            _complete.Bind(7, completion.FinishedAt.ToUnixTimeMilliseconds());
            _complete.Bind(8, completion.OptimumPending ? 1 : 0);
            _complete.Bind(9, id);
            _complete.BindInteger(10, completion.UnstoredStart?.ToUnixTimeMilliseconds());
            if (_complete.Run() == 0) return Task.FromResult(false);
            // The outcome goes in a table of its own (schema 12): in the row, it grew a fit's row from ~450 bytes to ~1.4 KB
            // at its end, splitting the pages of the batch's rows, and every read of a batch's fits read it.
            if (completion.OutcomeJson is { } outcome)
            {
                _outcome ??= new SqliteRawStatement(conn, "INSERT OR REPLACE INTO fit_outcomes (fit_id, outcome) VALUES (?1, ?2)");
                _outcome.Bind(1, id);
                _outcome.Bind(2, outcome);
                _outcome.Run();
            }
            // The whole history replaces the chunks saved so far, as one chunk at 0 (none when empty).
            _dropHistory ??= new SqliteRawStatement(conn, "DELETE FROM fit_history WHERE fit_id = ?1");
            _dropHistory.Bind(1, id);
            _dropHistory.Run();
            if (completion.History.Length > 0)
            {
                _history ??= new SqliteRawStatement(conn, "INSERT INTO fit_history (fit_id, start, data) VALUES (?1, 0, ?2)");
                _history.Bind(1, id);
                _history.Bind(2, DoubleBlobs.ToBytes(completion.History));
                _history.Run();
            }
            return Task.FromResult(true);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var command in new[] { _read, _cancelAtStart, _start, _dropStartHistory })
            {
                if (command is not null) await command.DisposeAsync();
            }
            foreach (var statement in new[] { _complete, _outcome, _dropHistory, _history }) statement?.Dispose();
        }
    }

    public Task<bool> SaveProgressAsync(string id, FitProgressUpdate update, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        // The first progress of a fit whose start was not written (ChunkStart.Stored: queued, never started) writes the start too.
        var changed = await ExecAsync(conn, tx, """
            UPDATE fits SET step = $step, params = $params, loss = $loss,
                            status = $running, attempt = $a, started_at = COALESCE(started_at, $startedAt)
            WHERE id = $id AND (attempt = $a AND status = $running OR $a = 1 AND attempt = 0 AND status = $queued AND cancel_requested = 0)
            """, ct,
            ("$step", update.Step), ("$params", DoubleBlobs.ToBytes(update.Params)), ("$loss", Finite(update.Loss)),
            ("$id", id), ("$a", update.Attempt), ("$running", (int)FitStatus.Running), ("$queued", (int)FitStatus.Queued),
            ("$startedAt", update.StartedAt?.ToUnixTimeMilliseconds()));
        if (changed == 1 && update.NewHistory.Length > 0)
        {
            await ExecAsync(conn, tx, "INSERT OR REPLACE INTO fit_history (fit_id, start, data) VALUES ($id, $start, $data)", ct,
                ("$id", id), ("$start", update.HistoryOffset), ("$data", DoubleBlobs.ToBytes(update.NewHistory)));
        }
        await using var cmd = Command(conn, tx, "SELECT cancel_requested FROM fits WHERE id = $id", ("$id", id));
        // A deleted fit counts as cancelled: nobody is waiting for it any more.
        return await cmd.ExecuteScalarAsync(ct) is not long flag || flag != 0;
    }, ct);

    public Task<bool> SaveOutcomeAsync(string id, string outcomeJson, CancellationToken ct) => WriteAsync(async (conn, tx) =>
        await ExecAsync(conn, tx, SaveOutcomeSql, ct, ("$outcome", outcomeJson), ("$id", id)) > 0, ct);

    public Task SaveOutcomesAsync(IReadOnlyList<(string Id, string OutcomeJson)> outcomes, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        await using var save = Command(conn, tx, SaveOutcomeSql, ("$outcome", ""), ("$id", ""));
        foreach (var (id, outcomeJson) in outcomes)
        {
            save.Parameters["$outcome"].Value = outcomeJson;
            save.Parameters["$id"].Value = id;
            await save.ExecuteNonQueryAsync(ct);
        }
        return 0;
    }, ct);

    /// <summary>An ended fit's outcome, in place of the one it has (in fit_outcomes, or in its row if it ended before schema 12).</summary>
    private const string SaveOutcomeSql = """
        INSERT OR REPLACE INTO fit_outcomes (fit_id, outcome) SELECT id, $outcome FROM fits WHERE id = $id AND status >= 2;
        UPDATE fits SET outcome = NULL, optimum_pending = 0 WHERE id = $id AND status >= 2;
        """;

    public Task<bool> CompleteAsync(string id, FitCompletion completion, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        await using var statements = new LifecycleStatements(conn, tx);
        return await statements.CompleteAsync(id, completion, ct);
    }, ct);

    public Task<IReadOnlyList<string>> CompleteManyAsync(IReadOnlyList<(string Id, FitCompletion Completion)> completions, CancellationToken ct) =>
        WriteAsync<IReadOnlyList<string>>(async (conn, tx) =>
        {
            var ended = new List<string>(completions.Count);
            await using var statements = new LifecycleStatements(conn, tx);
            foreach (var (id, completion) in completions)
            {
                if (await statements.CompleteAsync(id, completion, ct)) ended.Add(id);
            }
            return ended;
        }, ct);

    public Task<CancelOutcome> RequestCancelAsync(string tenant, string id, DateTimeOffset now, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        var fit = await QuerySingleAsync(conn, tx, $"SELECT {SqliteColumns} FROM fits WHERE id = $id AND tenant = $t", ct, ("$id", id), ("$t", tenant));
        var outcome = FitLifecycle.Cancel(fit);
        if (outcome == CancelOutcome.Cancelled)
        {
            await ExecAsync(conn, tx, "UPDATE fits SET status = $s, stop_reason = 'cancelled', cancel_requested = 1, finished_at = $now WHERE id = $id", ct,
                ("$s", (int)FitStatus.Cancelled), ("$now", now.ToUnixTimeMilliseconds()), ("$id", id));
        }
        else if (outcome == CancelOutcome.Requested)
        {
            await ExecAsync(conn, tx, "UPDATE fits SET cancel_requested = 1 WHERE id = $id", ct, ("$id", id));
        }
        return outcome;
    }, ct);

    public Task<bool> DeleteAsync(string tenant, string id, CancellationToken ct) => WriteAsync(async (conn, tx) =>
        // Points, history and deliveries go with the fit (triggers, see SqliteSchema).
        await ExecAsync(conn, tx, "DELETE FROM fits WHERE id = $id AND tenant = $t", ct, ("$id", id), ("$t", tenant)) > 0, ct);

    public async Task<IReadOnlyList<string>> ListUnfinishedAsync(CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, UnfinishedSql);
        var ids = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetString(0));
        return ids;
    }

    public async Task<IReadOnlyList<string>> ListPendingOptimaAsync(DateTimeOffset endedBefore, int limit, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, PendingOptimaSql, ("$before", endedBefore.ToUnixTimeMilliseconds()), ("$limit", limit));
        var ids = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetString(0));
        return ids;
    }

    public async Task<long> CountQueuedAsync(CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, QueuedCountSql);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct));
    }

    public async Task<int> CountActiveAsync(string tenant, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, ActiveCountSql, ("$t", tenant));
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct));
    }

    public Task<BatchCreateResult> CreateBatchAsync(NewBatch batch, IReadOnlyList<NewFit> fits, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        // The one writer serialises creates, so looking the key up inside the write transaction is race-free.
        if (await FindBatchByKeyAsync(conn, tx, batch, ct) is { } earlier) return earlier;
        await InsertBatchAsync(conn, tx, batch, ct);
        if (fits.Count > 0)
        {
            InsertSharedPoints(conn, batch.Id, fits[0]);
            InsertBatchFits(conn, batch.Id, fits[0], fits, ct);
        }
        return new BatchCreateResult(CreateOutcome.Created, batch.Id);
    }, ct);

    private const int SqliteBusy = 5;

    /// <summary>Fits stored per transaction before a batch's last ones: their chunks start while the rest are stored.</summary>
    public const int BatchSliceFits = 1024;

    /// <summary>
    /// A batch of more than <see cref="BatchSliceFits"/> fits is stored a slice at a time, each slice in its own write, its
    /// fits handed on (<paramref name="stored"/>) once committed; the batch row goes with the last slice. A row in
    /// <c>batches_storing</c>, written with the first slice and removed with the last, marks the fits of a batch not yet
    /// accepted: the last write checks that it and every earlier fit are still there (another process's start drops
    /// such fits), a failed request removes them, and recovery at start removes those of a process that died.
    /// </summary>
    public async Task<BatchCreateResult> CreateBatchAsync(NewBatch batch, IReadOnlyList<NewFit> fits, Action<int> stored, CancellationToken ct)
    {
        if (fits.Count <= BatchSliceFits) return await CreateBatchAsync(batch, fits, ct);
        // Sliced without a copy per slice (a list would be copied whole each time).
        var all = fits as NewFit[] ?? [.. fits];
        if (batch.IdempotencyKey is not null)
        {
            // A replay stores nothing; the last write looks again, for a request with the same key running beside this one.
            await using var conn = await OpenReaderAsync(ct);
            if (await FindBatchByKeyAsync(conn, null, batch, ct) is { } earlier) return earlier;
        }
        var done = 0;
        try
        {
            while (fits.Count - done > BatchSliceFits)
            {
                var from = done;
                await WriteAsync(async (conn, tx) =>
                {
                    if (from == 0)
                    {
                        await ExecAsync(conn, tx, "INSERT INTO batches_storing (id) VALUES ($id)", ct, ("$id", batch.Id));
                        InsertSharedPoints(conn, batch.Id, all[0]);
                    }
                    InsertBatchFits(conn, batch.Id, all[0], new ArraySegment<NewFit>(all, from, BatchSliceFits), ct);
                    return 0;
                }, ct);
                done += BatchSliceFits;
                stored(done);
            }
            var created = await WriteAsync(async (conn, tx) =>
            {
                if (await FindBatchByKeyAsync(conn, tx, batch, ct) is { } earlier)
                {
                    await DropStoringAsync(conn, tx, batch.Id, ct);
                    return earlier;
                }
                // Another process's start drops the fits of a batch being stored and its marker in one write, so the marker
                // tells. A fit the client itself deleted meanwhile (it may list and delete them) is not a reason to fail.
                if (await ExecAsync(conn, tx, "DELETE FROM batches_storing WHERE id = $id", ct, ("$id", batch.Id)) != 1)
                {
                    // Not a SqliteException itself: that would fail the other writes committed with this one. The
                    // client hears 503 (busy: another process), and nothing of the batch stays (below).
                    var message = $"batch {batch.Id}: fits stored so far were removed by another process while the rest were stored; nothing is kept";
                    throw new InvalidOperationException(message, new SqliteException(message, SqliteBusy));
                }
                await InsertBatchAsync(conn, tx, batch, ct);
                InsertBatchFits(conn, batch.Id, all[0], new ArraySegment<NewFit>(all, done, all.Length - done), ct);
                return new BatchCreateResult(CreateOutcome.Created, batch.Id);
            }, ct);
            return created;
        }
        catch (Exception) when (done > 0)
        {
            // Nothing of a failed request stays: its fits go (a job that picks one up finds it missing). Should this fail
            // too, the marker stays, and recovery drops them at the next start.
            try
            {
                await WriteAsync(async (conn, tx) => { await DropStoringAsync(conn, tx, batch.Id, CancellationToken.None); return 0; }, CancellationToken.None);
            }
            catch (Exception e) when (e is SqliteException or IOException or InvalidOperationException)
            {
                // The original failure is what the client hears of.
            }
            throw;
        }
    }

    public Task DropUnacceptedBatchesAsync(CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        var ids = new List<string>();
        await using (var list = Command(conn, tx, "SELECT id FROM batches_storing"))
        await using (var reader = await list.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) ids.Add(reader.GetString(0));
        }
        foreach (var id in ids) await DropStoringAsync(conn, tx, id, ct);
        return ids.Count;
    }, ct);

    /// <summary>The fits of a batch not accepted, and its marker (points and history go with the fits: triggers).</summary>
    private static async Task DropStoringAsync(SqliteConnection conn, SqliteTransaction tx, string batchId, CancellationToken ct) =>
        await ExecAsync(conn, tx, """
            DELETE FROM fit_points WHERE fit_id = $b AND NOT EXISTS (SELECT 1 FROM batches WHERE id = $b);
            DELETE FROM fits WHERE batch_id = $b AND NOT EXISTS (SELECT 1 FROM batches WHERE id = $b);
            DELETE FROM batches_storing WHERE id = $b;
            """, ct, ("$b", batchId));

    private static async Task<BatchCreateResult?> FindBatchByKeyAsync(SqliteConnection conn, SqliteTransaction? tx, NewBatch batch, CancellationToken ct)
    {
        if (batch.IdempotencyKey is null) return null;
        await using var find = Command(conn, tx, "SELECT id, request_hash FROM batches WHERE tenant = $t AND idempotency_key = $k",
            ("$t", batch.Tenant), ("$k", batch.IdempotencyKey));
        await using var found = await find.ExecuteReaderAsync(ct);
        if (!await found.ReadAsync(ct)) return null;
        var same = !found.IsDBNull(1) && found.GetString(1) == batch.RequestHash;
        return new BatchCreateResult(same ? CreateOutcome.Existing : CreateOutcome.Conflict, found.GetString(0));
    }

    private static Task InsertBatchAsync(SqliteConnection conn, SqliteTransaction tx, NewBatch batch, CancellationToken ct) => ExecAsync(conn, tx, """
        INSERT INTO batches (id, tenant, created_at, label, request, idempotency_key, request_hash)
        VALUES ($id, $t, $created, $label, $request, $key, $hash)
        """, ct,
        ("$id", batch.Id), ("$t", batch.Tenant), ("$created", batch.CreatedAt.ToUnixTimeMilliseconds()), ("$label", batch.Label),
        ("$request", batch.RequestJson), ("$key", batch.IdempotencyKey), ("$hash", batch.RequestHash));

    /// <summary>
    /// The points of a batch's first fit, stored once under the batch's id for every fit of the batch that has the very
    /// same arrays (every item that sets no points: the validator hands them the defaults' arrays). They go with the batch
    /// (trigger <c>tr_batches_points</c>), or with its fits when the batch is not accepted (<see cref="DropStoringAsync"/>).
    /// </summary>
    private static void InsertSharedPoints(SqliteConnection conn, string batchId, NewFit first)
    {
        using var points = new SqliteRawStatement(conn, "INSERT INTO fit_points (fit_id, x, y, w) VALUES (?1, ?2, ?3, ?4)");
        points.Bind(1, batchId);
        points.Bind(2, DoubleBlobs.ToBytes(first.X));
        points.Bind(3, DoubleBlobs.ToBytes(first.Y));
        points.Bind(4, first.Weights is null ? null : DoubleBlobs.ToBytes(first.Weights));
        points.Run();
    }

    /// <summary>Whether <paramref name="fit"/> reads its points from its batch's shared row (see <see cref="InsertSharedPoints"/>).</summary>
    private static bool SharesPoints(NewFit fit, NewFit first) =>
        ReferenceEquals(fit.X, first.X) && ReferenceEquals(fit.Y, first.Y) && ReferenceEquals(fit.Weights, first.Weights);

    private static void InsertBatchFits(SqliteConnection conn, string batchId, NewFit first, IEnumerable<NewFit> fits, CancellationToken ct)
    {
        // One prepared pair of statements for all the fits, thousands of rows in one transaction, bound by position (see
        // SqliteRawStatement: by name, each of the fifteen values was looked up in both statements for every fit). They run
        // in the writer's open transaction. A fit with its batch's shared points has no row of its own in fit_points.
        using var insert = new SqliteRawStatement(conn, """
            INSERT INTO fits (id, tenant, status, steps, history_every, created_at, request, label, points, batch_id, request_hash, trace_parent)
            VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
            """);
        using var points = new SqliteRawStatement(conn, "INSERT INTO fit_points (fit_id, x, y, w) VALUES (?1, ?2, ?3, ?4)");
        foreach (var fit in fits)
        {
            ct.ThrowIfCancellationRequested();
            insert.Bind(1, fit.Id);
            insert.Bind(2, fit.Tenant);
            insert.Bind(3, fit.Steps);
            insert.Bind(4, fit.HistoryEvery);
            insert.Bind(5, fit.CreatedAt.ToUnixTimeMilliseconds());
            insert.Bind(6, fit.RequestJson);
            insert.Bind(7, fit.Label);
            insert.Bind(8, fit.X.Length);
            insert.Bind(9, batchId);
            insert.Bind(10, fit.RequestHash);
            insert.Bind(11, fit.TraceParent);
            insert.Run();
            if (SharesPoints(fit, first)) continue;
            points.Bind(1, fit.Id);
            points.Bind(2, DoubleBlobs.ToBytes(fit.X));
            points.Bind(3, DoubleBlobs.ToBytes(fit.Y));
            points.Bind(4, fit.Weights is null ? null : DoubleBlobs.ToBytes(fit.Weights));
            points.Run();
        }
    }

    public async Task<BatchRecord?> GetBatchAsync(string tenant, string id, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(ct);
        DateTimeOffset created;
        string? label;
        string request;
        await using (var head = Command(conn, tx, "SELECT created_at, label, request FROM batches WHERE id = $id AND tenant = $t", ("$id", id), ("$t", tenant)))
        await using (var reader = await head.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct)) return null;
            created = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0));
            label = reader.IsDBNull(1) ? null : reader.GetString(1);
            request = reader.GetString(2);
        }
        await using var fits = Command(conn, tx, "SELECT id, status FROM fits WHERE batch_id = $id AND tenant = $t ORDER BY seq", ("$id", id), ("$t", tenant));
        var ids = new List<string>();
        var statuses = new List<FitStatus>();
        var counts = Enum.GetValues<FitStatus>().ToDictionary(s => s, _ => 0);
        await using var rows = await fits.ExecuteReaderAsync(ct);
        while (await rows.ReadAsync(ct))
        {
            ids.Add(rows.GetString(0));
            statuses.Add((FitStatus)rows.GetInt32(1));
            counts[statuses[^1]]++;
        }
        return new BatchRecord
        {
            Id = id, Tenant = tenant, CreatedAt = created, Label = label, RequestJson = request, FitIds = ids, Counts = counts, FitStatuses = statuses,
        };
    }

    public async Task<IReadOnlyList<FitRecord>> ListBatchFitsAsync(string tenant, string batchId, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, $"SELECT {SqliteColumns} FROM fits WHERE batch_id = $b AND tenant = $t ORDER BY seq", ("$b", batchId), ("$t", tenant));
        return await ReadAllAsync(cmd, Time, ct);
    }

    public async Task<IReadOnlyList<(string Id, FitStatus Status)>> ListBatchFitStatusesAsync(string tenant, string batchId, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, "SELECT id, status FROM fits WHERE batch_id = $b AND tenant = $t ORDER BY seq", ("$b", batchId), ("$t", tenant));
        var fits = new List<(string, FitStatus)>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) fits.Add((reader.GetString(0), (FitStatus)reader.GetInt32(1)));
        return fits;
    }

    public async Task<bool> HasUnfinishedFitsAsync(string batchId, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, UnfinishedInBatchSql, ("$b", batchId));
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }

    public Task<bool> DeleteBatchAsync(string tenant, string id, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        if (await ExecAsync(conn, tx, "DELETE FROM batches WHERE id = $id AND tenant = $t", ct, ("$id", id), ("$t", tenant)) == 0) return false;
        await ExecAsync(conn, tx, "DELETE FROM fits WHERE batch_id = $id AND tenant = $t", ct, ("$id", id), ("$t", tenant));
        return true;
    }, ct);

    public Task<int> DeleteEndedAsync(FitStatus status, DateTimeOffset endedBefore, int limit, RetentionScope scope, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        // Points, history and deliveries go with the fits (triggers, see SqliteSchema).
        (string, object?)[] tenants = [("$tenant", (object?)scope.Tenant ?? DBNull.Value), ("$except", JsonSerializer.Serialize(scope.Except))];
        var deleted = await ExecAsync(conn, tx, $"""
            DELETE FROM fits WHERE id IN (
                SELECT id FROM fits WHERE finished_at IS NOT NULL AND finished_at < $before AND status = $s AND {TenantsIn("tenant")}
                ORDER BY finished_at LIMIT $n)
            """, ct, [("$before", endedBefore.ToUnixTimeMilliseconds()), ("$s", (int)status), ("$n", limit), .. tenants]);
        await ExecAsync(conn, tx, $"""
            DELETE FROM batches WHERE id IN (
                SELECT b.id FROM batches b WHERE b.created_at < $before AND {TenantsIn("b.tenant")}
                AND NOT EXISTS (SELECT 1 FROM fits f WHERE f.batch_id = b.id) LIMIT $n)
            """, ct, [("$before", endedBefore.ToUnixTimeMilliseconds()), ("$n", limit), .. tenants]);
        // Gives the pages this batch freed back to the file system (the file is in incremental auto-vacuum, see SqliteDatabase).
        if (deleted > 0) await ExecAsync(conn, tx, "PRAGMA incremental_vacuum", ct);
        return deleted;
    }, ct);

    /// <summary>The tenant condition of a <see cref="RetentionScope"/> on <paramref name="column"/> (parameters <c>$tenant</c>, <c>$except</c> as a JSON array).</summary>
    private static string TenantsIn(string column) => $"($tenant IS NULL OR {column} = $tenant) AND {column} NOT IN (SELECT value FROM json_each($except))";

    public async Task PingAsync(CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, "SELECT COUNT(*) FROM fits WHERE 0");
        await cmd.ExecuteScalarAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsDatabase) await _db.DisposeAsync();
    }

    private Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken ct) => _db.WriteAsync(work, ct);

    private Task<SqliteConnection> OpenReaderAsync(CancellationToken ct) => _db.OpenReaderAsync(ct);

    private static async Task<FitRecord?> QuerySingleAsync(SqliteConnection conn, SqliteTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(conn, tx, sql, args);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadFit(reader) : null;
    }

    private static FitRecord ReadFit(SqliteDataReader reader) => Read(reader, Time);

    /// <summary>
    /// Entries [offset, offset + limit) of a fit's history and the number recorded. Only the chunks' lengths and the
    /// bytes of the slice are read (incremental blob I/O), so a capped read of a multi-million-entry history stays small.
    /// </summary>
    private static async Task<(double[] Page, int Total)> ReadHistoryAsync(
        SqliteConnection conn, SqliteTransaction tx, string id, int offset, int limit, CancellationToken ct)
    {
        var chunks = new List<(long RowId, long Start, long Count)>();
        await using (var cmd = Command(conn, tx, "SELECT rowid, length(data) / 8 FROM fit_history WHERE fit_id = $id ORDER BY start", ("$id", id)))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            long at = 0;
            while (await reader.ReadAsync(ct))
            {
                var count = reader.GetInt64(1);
                chunks.Add((reader.GetInt64(0), at, count));
                at += count;
            }
        }
        var total = chunks.Count == 0 ? 0 : chunks[^1].Start + chunks[^1].Count;
        var from = Math.Clamp(offset, 0L, total);
        var page = new double[Math.Clamp(limit, 0L, total - from)];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(page.AsSpan());
        foreach (var (rowId, start, count) in chunks)
        {
            var lo = Math.Max(from, start);
            var hi = Math.Min(from + page.Length, start + count);
            if (lo >= hi) continue;
            using var blob = new SqliteBlob(conn, "fit_history", "data", rowId, readOnly: true);
            blob.Position = (lo - start) * 8;
            blob.ReadExactly(bytes.Slice((int)(lo - from) * 8, (int)(hi - lo) * 8));
        }
        return (page, (int)total);
    }
}
