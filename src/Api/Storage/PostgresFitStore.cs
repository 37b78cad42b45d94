using Npgsql;
using NpgsqlTypes;
using static FitService.Api.Storage.FitRows;
using static FitService.Api.Storage.PostgresSchema;

namespace FitService.Api.Storage;

/// <summary>
/// The shared store for scale-out: one PostgreSQL database used by every API and worker process. Each operation is
/// one statement or one short transaction that locks the fit's row, so processes need no coordination of their own.
/// Points, params and history are bytea of little-endian doubles (<see cref="DoubleBlobs"/>); history is appended in
/// chunks to <c>fit_history</c>. The tables go to the first schema of the connection's search path (<c>public</c>
/// unless the connection string sets <c>Search Path</c>).
/// </summary>
public sealed class PostgresFitStore : IFitStore, IAsyncDisposable
{
    /// <summary>The whole history of fit <c>f</c> as one bytea (chunks in order), for use inside a query.</summary>
    private const string HistoryOfF =
        "COALESCE((SELECT string_agg(h.data, ''::bytea ORDER BY h.start) FROM fit_history h WHERE h.fit_id = f.id), ''::bytea)";


    /// <summary>
    /// A fit not ended yet (queued or running), as the partial indexes of schema version 12 say it: the status is in no index,
    /// so the updates that move a fit from queued to running can be HOT. The status condition is kept beside it.
    /// </summary>
    internal const string Unended = "finished_at IS NULL AND status < 2";

    /// <summary>The queries run per submission, per fit or per chunk that must search a partial index of unended fits (tests EXPLAIN them).</summary>
    internal const string UnendedSql = $"SELECT id FROM fits WHERE {Unended} ORDER BY seq";
    internal const string QueuedCountSql = "SELECT COUNT(*) FROM fits WHERE finished_at IS NULL AND status = 0";
    internal const string ActiveCountSql = $"SELECT COUNT(*) FROM fits WHERE tenant = @t AND {Unended}";
    internal const string UnendedInBatchSql = $"SELECT EXISTS (SELECT 1 FROM fits WHERE batch_id = @b AND {Unended})";

    /// <summary>Schema versions in order; a process applies those the database has not seen yet. Append, never edit.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS fits (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            tenant text NOT NULL,
            status integer NOT NULL,
            stop_reason text,
            step integer NOT NULL DEFAULT 0,
            steps integer NOT NULL,
            params bytea,
            loss double precision,
            history_every integer NOT NULL,
            created_at timestamptz NOT NULL,
            started_at timestamptz,
            finished_at timestamptz,
            error text,
            request text NOT NULL,
            label text,
            points integer NOT NULL,
            cancel_requested boolean NOT NULL DEFAULT false,
            batch_id text,
            idempotency_key text,
            request_hash text NOT NULL,
            attempt integer NOT NULL DEFAULT 0);
        CREATE UNIQUE INDEX IF NOT EXISTS ix_fits_idempotency ON fits (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ix_fits_tenant_seq ON fits (tenant, seq);
        CREATE INDEX IF NOT EXISTS ix_fits_unfinished ON fits (seq) WHERE status < 2;
        CREATE INDEX IF NOT EXISTS ix_fits_batch ON fits (batch_id) WHERE batch_id IS NOT NULL;
        CREATE TABLE IF NOT EXISTS fit_points (
            fit_id text PRIMARY KEY REFERENCES fits (id) ON DELETE CASCADE,
            x bytea NOT NULL,
            y bytea NOT NULL);
        CREATE TABLE IF NOT EXISTS fit_history (
            fit_id text NOT NULL REFERENCES fits (id) ON DELETE CASCADE,
            start integer NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (fit_id, start));
        """,
        """
        CREATE TABLE IF NOT EXISTS batches (
            id text PRIMARY KEY,
            tenant text NOT NULL,
            created_at timestamptz NOT NULL,
            label text,
            request text NOT NULL);
        """,
        // 3: leases of the workers that share the store (IFitLeases).
        """
        ALTER TABLE fits ADD COLUMN IF NOT EXISTS claimed_by text, ADD COLUMN IF NOT EXISTS lease_until timestamptz;
        """,
        // 4: what a run is (a fit or a learning-rate finder run) and what the worker computed beside it (optimum, gap, finder curve).
        """
        ALTER TABLE fits ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'fit';
        ALTER TABLE fits ADD COLUMN IF NOT EXISTS outcome text;
        """,
        // 5: quotas count a tenant's queued and running fits on every submission: only those rows, not all of the tenant's.
        """
        CREATE INDEX IF NOT EXISTS ix_fits_active ON fits (tenant) WHERE status < 2;
        """,
        // 6: a batch is complete when none of its fits is queued or running: found by index, whatever the batch's size.
        """
        CREATE INDEX IF NOT EXISTS ix_fits_batch_unfinished ON fits (batch_id) WHERE status < 2;
        """,
        // 7: Idempotency-Key on batches, unique per tenant as on fits.
        """
        ALTER TABLE batches ADD COLUMN IF NOT EXISTS idempotency_key text, ADD COLUMN IF NOT EXISTS request_hash text;
        CREATE UNIQUE INDEX IF NOT EXISTS ix_batches_idempotency ON batches (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
        """,
        // 8: ended fits whose optimum is still to be computed, found by the sweep should their worker stop (those an older
        // version left pending included).
        """
        ALTER TABLE fits ADD COLUMN IF NOT EXISTS optimum_pending boolean NOT NULL DEFAULT false;
        UPDATE fits SET optimum_pending = true WHERE status >= 2 AND outcome LIKE '%"optimumPending":true%';
        CREATE INDEX IF NOT EXISTS ix_fits_optimum_pending ON fits (finished_at) WHERE optimum_pending;
        """,
        // 9: per-point weights beside the points; NULL for fits stored without them (all of them before this version).
        """
        ALTER TABLE fit_points ADD COLUMN IF NOT EXISTS w bytea;
        """,
        // 10: the W3C traceparent of the submitting request, so the worker and webhook spans join the fit's trace.
        """
        ALTER TABLE fits ADD COLUMN IF NOT EXISTS trace_parent text;
        """,
        // 11: CompleteManyAsync (a drain's chunk) once stored an outcome that says the optimum is pending without the mark
        // the pending-optimum sweep lists by, so a worker stopped between a chunk's end and its optima left them pending
        // for good. Mark them, as 8 did for older rows; a row whose outcome no longer says so is not touched. (SQLite never
        // stored such rows: every end it stores has set the mark since the column exists, and 5 marked the older ones.)
        """
        UPDATE fits SET optimum_pending = true WHERE status >= 2 AND NOT optimum_pending AND outcome LIKE '%"optimumPending":true%';
        """,
        // 12: fewer index writes per fit. "Not ended" is finished_at IS NULL (set by every end, with the status, since version 1)
        // rather than status < 2, so no index names status: a claim or a restart (queued -> running), a progress save and a
        // lease renewal change no indexed column, and PostgreSQL writes them as HOT updates (a new version on the same page,
        // no index entry) when the page has room, which the fill factor leaves for them on pages written from now on. The
        // tenant's and the batch's indexes also say their column is set: a query naming neither (the claim, ORDER BY seq
        // LIMIT n) cannot use them, so it never sorts every unended fit of a batch's index to take the first few.
        """
        ALTER TABLE fits SET (fillfactor = 50);
        CREATE INDEX IF NOT EXISTS ix_fits_unended ON fits (seq) WHERE finished_at IS NULL;
        CREATE INDEX IF NOT EXISTS ix_fits_unended_tenant ON fits (tenant) WHERE finished_at IS NULL AND tenant IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ix_fits_batch_unended ON fits (batch_id) WHERE finished_at IS NULL AND batch_id IS NOT NULL;
        DROP INDEX IF EXISTS ix_fits_unfinished;
        DROP INDEX IF EXISTS ix_fits_active;
        DROP INDEX IF EXISTS ix_fits_batch_unfinished;
        """,
        // 13: a fit's points and history go with it by a statement trigger, as on SQLite, instead of foreign keys: a foreign
        // key checked every inserted row with a query that also locked the fit's row (the COPY of a batch's points, the
        // history of every end). Nothing is lost by it: every statement that inserts points or history inserts or
        // updates (so locks) the fit's row in the same statement or transaction.
        """
        ALTER TABLE fit_points DROP CONSTRAINT IF EXISTS fit_points_fit_id_fkey;
        ALTER TABLE fit_history DROP CONSTRAINT IF EXISTS fit_history_fit_id_fkey;
        CREATE OR REPLACE FUNCTION fit_rows_of_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM fit_points p USING gone g WHERE p.fit_id = g.id;
            DELETE FROM fit_history h USING gone g WHERE h.fit_id = g.id;
            RETURN NULL;
        END $$;
        DROP TRIGGER IF EXISTS tr_fits_rows ON fits;
        CREATE TRIGGER tr_fits_rows AFTER DELETE ON fits REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION fit_rows_of_deleted();
        """,
    ];

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresSubmissionBatcher? _submissions;

    /// <param name="connectionString">The shared database.</param>
    /// <param name="loggerFactory">Npgsql's logging.</param>
    /// <param name="lease">How long a worker's lease lasts (<see cref="PostgresFitLeases"/>); progress saves renew it.</param>
    /// <param name="groupInserts">Concurrent single fits inserted many to a statement (<see cref="PostgresSubmissionBatcher"/>); off, each alone.</param>
    public PostgresFitStore(string connectionString, ILoggerFactory? loggerFactory = null, TimeSpan? lease = null, bool groupInserts = false)
    {
        var builder = DataSourceBuilder(connectionString);
        if (loggerFactory is not null) builder.UseLoggerFactory(loggerFactory);
        _dataSource = builder.Build();
        if (groupInserts) _submissions = new PostgresSubmissionBatcher(_dataSource, Columns, ReadFit);
        LeaseDuration = lease ?? TimeSpan.FromSeconds(30);
    }

    /// <summary>The group insert of single fits, if on (tests write a group of their choosing through it).</summary>
    internal PostgresSubmissionBatcher? Submissions => _submissions;

    /// <summary>How long a lease lasts: a claim's, and each renewal's by a progress save.</summary>
    internal TimeSpan LeaseDuration { get; }

    /// <summary>
    /// The NOTIFY payload of a fit's end on <see cref="Notifications.PostgresFitSignals.Channel"/> (the process's
    /// <see cref="Notifications.PostgresFitSignals.EndNotice"/>). Set, every completion sends it in the statement or transaction that
    /// stores the end, so other processes' waiters wake with the commit, not a round trip later, and never before it.
    /// </summary>
    public Func<string, FitCompletion, string>? EndNotice { get; init; }

    public bool AnnouncesEnds => EndNotice is not null;

    /// <summary>The pool of connections, shared with this store's <see cref="PostgresFitLeases"/>.</summary>
    internal NpgsqlDataSource DataSource => _dataSource;

    /// <summary>The schema version this code brings the database to.</summary>
    public static int SchemaVersion => Migrations.Length;

    public Task InitializeAsync(CancellationToken ct) => MigrateAsync(_dataSource, "fit_schema_versions", Migrations, ct);

    /// <summary>Brings the database to <paramref name="version"/> only: an older version's schema, for upgrade tests.</summary>
    internal Task InitializeAsync(int version, CancellationToken ct) => MigrateAsync(_dataSource, "fit_schema_versions", Migrations[..version], ct);

    public async Task<CreateResult> CreateAsync(NewFit fit, CancellationToken ct)
    {
        // Grouped with concurrent submissions; a fit not stored there (its key taken, its group failed) is stored alone.
        if (_submissions is not null && await _submissions.TryInsertAsync(fit, ct) is { } created) return new CreateResult(CreateOutcome.Created, created);
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // The fit holding the key can be deleted between our insert and our re-select: then try again.
        for (var attempt = 1; ; attempt++)
        {
            if (await TryCreateAsync(conn, fit, ct) is { } result) return result;
            if (attempt == 3) throw new InvalidOperationException($"Idempotency key '{fit.IdempotencyKey}' is taken by a fit that cannot be found.");
        }
    }

    private static async Task<CreateResult?> TryCreateAsync(NpgsqlConnection conn, NewFit fit, CancellationToken ct)
    {
        if (fit.IdempotencyKey is not null && await FindByKeyAsync(conn, fit, ct) is { } earlier) return earlier;

        // One statement: the fit and its points appear together. A concurrent create with the same key waits on the
        // unique index, then inserts nothing here; the re-select below finds the fit it made.
        var created = await QuerySingleAsync(conn, null, $"""
            WITH f AS (
                INSERT INTO fits (id, tenant, status, steps, history_every, created_at, request, label, points, batch_id,
                                  idempotency_key, request_hash, kind, trace_parent)
                VALUES (@id, @t, @queued, @steps, @every, @created, @request, @label, @points, @batch, @key, @hash, @kind, @trace)
                ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING *),
            p AS (INSERT INTO fit_points (fit_id, x, y, w) SELECT id, @x, @y, @w::bytea FROM f)
            SELECT {Columns} FROM f
            """, ct,
            ("id", fit.Id), ("t", fit.Tenant), ("queued", (int)FitStatus.Queued), ("steps", fit.Steps), ("every", fit.HistoryEvery),
            ("created", Utc(fit.CreatedAt)), ("request", fit.RequestJson), ("label", fit.Label), ("points", fit.X.Length),
            ("batch", fit.BatchId), ("key", fit.IdempotencyKey), ("hash", fit.RequestHash), ("kind", fit.Kind), ("trace", fit.TraceParent),
            ("x", DoubleBlobs.ToBytes(fit.X)), ("y", DoubleBlobs.ToBytes(fit.Y)), ("w", fit.Weights is null ? null : DoubleBlobs.ToBytes(fit.Weights)));
        if (created is not null) return new CreateResult(CreateOutcome.Created, created);
        return await FindByKeyAsync(conn, fit, ct);
    }

    public async Task<CreateResult> CreateEndedAsync(NewFit fit, DateTimeOffset startedAt, FitCompletion completion, CancellationToken ct)
    {
        var ended = FitLifecycle.EndedAtOnce(fit, startedAt, completion);
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // As CreateAsync: the fit holding the key can be deleted between our insert and our re-select; then try again.
        for (var attempt = 1; ; attempt++)
        {
            if (fit.IdempotencyKey is not null && await FindByKeyAsync(conn, fit, ct) is { } earlier) return earlier;
            // One statement: the ended fit, its points and its history appear together. No lease: nobody ever sees it unended.
            // A concurrent create with the same key waits on the unique index, then inserts nothing; the re-select finds its fit.
            await using var cmd = Command(conn, null, """
                WITH f AS (
                    INSERT INTO fits (id, tenant, status, stop_reason, step, steps, params, loss, history_every, created_at, started_at,
                                      finished_at, error, request, label, points, batch_id, idempotency_key, request_hash, attempt, kind,
                                      outcome, optimum_pending, trace_parent)
                    VALUES (@id, @t, @s, @reason, @step, @steps, @params, @loss, @every, @created, @started, @finished, @error, @request,
                            @label, @points, @batch, @key, @hash, @attempt, @kind, @outcome, @pending, @trace)
                    ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                    RETURNING id, seq),
                p AS (INSERT INTO fit_points (fit_id, x, y, w) SELECT id, @x, @y, @w::bytea FROM f),
                h AS (INSERT INTO fit_history (fit_id, start, data) SELECT id, 0, @history FROM f WHERE length(@history) > 0)
                SELECT seq FROM f
                """,
                ("id", fit.Id), ("t", fit.Tenant), ("s", (int)ended.Status), ("reason", ended.StopReason), ("step", ended.Step),
                ("steps", fit.Steps), ("params", DoubleBlobs.ToBytes(completion.Params)), ("loss", Finite(completion.Loss)),
                ("every", fit.HistoryEvery), ("created", ended.CreatedAt), ("started", ended.StartedAt), ("finished", ended.FinishedAt),
                ("error", ended.Error), ("request", fit.RequestJson), ("label", fit.Label), ("points", fit.X.Length), ("batch", fit.BatchId),
                ("key", fit.IdempotencyKey), ("hash", fit.RequestHash), ("attempt", ended.Attempt), ("kind", fit.Kind),
                ("outcome", ended.OutcomeJson), ("pending", completion.OptimumPending), ("trace", fit.TraceParent),
                ("x", DoubleBlobs.ToBytes(fit.X)), ("y", DoubleBlobs.ToBytes(fit.Y)), ("w", fit.Weights is null ? null : DoubleBlobs.ToBytes(fit.Weights)),
                ("history", DoubleBlobs.ToBytes(completion.History)));
            if (await cmd.ExecuteScalarAsync(ct) is long seq) return new CreateResult(CreateOutcome.Created, ended with { Seq = seq });
            if (fit.IdempotencyKey is null || attempt == 3)
                throw new InvalidOperationException($"Idempotency key '{fit.IdempotencyKey}' is taken by a fit that cannot be found.");
        }
    }

    public Task<FitRecord?> GetAsync(string tenant, string id, int historyLimit, CancellationToken ct) =>
        GetOfKindAsync(tenant, id, FitKinds.Fit, historyLimit, ct);

    public Task<FitRecord?> GetFinderRunAsync(string tenant, string id, CancellationToken ct) =>
        GetOfKindAsync(tenant, id, FitKinds.LearningRateFinder, 0, ct);

    private async Task<FitRecord?> GetOfKindAsync(string tenant, string id, string kind, int historyLimit, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // History in the same statement, so the record and its history are one snapshot; sliced on the server, so a
        // capped read of a long history ships only its first entries.
        var history = historyLimit > 0
            ? $"length(h.hist) / 8, substring(h.hist FROM 1 FOR @len) FROM fits f, LATERAL (SELECT {HistoryOfF} AS hist) h"
            : "NULL::integer, NULL::bytea FROM fits f";
        await using var cmd = Command(conn, null, $"SELECT {Columns}, {history} WHERE f.id = @id AND f.tenant = @t AND f.kind = @kind",
            ("id", id), ("t", tenant), ("kind", kind), ("len", ByteIndex(Math.Max(historyLimit, 0))));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        var fit = ReadFit(reader);
        // The history's length and slice follow the fit's columns (however many those are).
        var total = reader.FieldCount - 2;
        return historyLimit > 0
            ? fit with { History = DoubleBlobs.FromBytes(reader.GetFieldValue<byte[]>(total + 1)), HistoryTotal = reader.GetInt32(total) }
            : fit;
    }

    public async Task<FitRecord?> GetForWorkerAsync(string id, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        return await QuerySingleAsync(conn, null, $"SELECT {Columns} FROM fits WHERE id = @id", ct, ("id", id));
    }

    public async Task<FitPoints?> GetPointsAsync(string id, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, "SELECT x, y, w FROM fit_points WHERE fit_id = @id", ("id", id));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return ReadPoints(reader, 0);
    }

    public async Task<(double[] Page, int Total)?> GetHistoryAsync(string tenant, string id, int offset, int limit, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // Slice on the server: a page of a long history does not ship the whole of it.
        await using var cmd = Command(conn, null, $"""
            SELECT length(h) / 8, substring(h FROM @from FOR @len)
            FROM (SELECT {HistoryOfF} AS h FROM fits f WHERE id = @id AND tenant = @t AND kind = 'fit') s
            """,
            ("id", id), ("t", tenant), ("from", ByteIndex(Math.Max(offset, 0)) + 1), ("len", ByteIndex(Math.Max(limit, 0))));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return (DoubleBlobs.FromBytes(reader.GetFieldValue<byte[]>(1)), reader.GetInt32(0));
    }

    public async Task<IReadOnlyList<FitRecord>> ListAsync(string tenant, FitQuery query, CancellationToken ct)
    {
        var args = new List<(string, object?)> { ("t", tenant), ("limit", query.Limit) };
        if (query.Status is { } status) args.Add(("status", (int)status));
        if (query.Label is not null) args.Add(("label", query.Label));
        if (query.BatchId is not null) args.Add(("batch", query.BatchId));
        if (query.BeforeSeq is { } before) args.Add(("before", before));

        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, ListSql(query, '@'), [.. args]);
        return await ReadAllAsync(cmd, Time, ct);
    }

    public Task<StartResult> TryStartAsync(string id, DateTimeOffset now, CancellationToken ct) => StartAsync(id, now, claim: null, ct);

    /// <summary>
    /// Starts a fit; with a <paramref name="claim"/> under a lease of that worker process, unless another one holds a live lease
    /// on it or the claimant runs it already (a fit it gave up, <see cref="LeaseClaim.TakeBack"/>, it takes again).
    /// </summary>
    internal Task<StartResult> StartAsync(string id, DateTimeOffset now, LeaseClaim? claim, CancellationToken ct) => InTransactionAsync(async (conn, tx) =>
    {
        var fit = await QuerySingleAsync(conn, tx, $"SELECT {Columns} FROM fits WHERE id = @id FOR UPDATE", ct, ("id", id));
        if (FitLifecycle.StartRefused(fit) is { } refused) return refused;
        if (claim is not null && fit!.Status == FitStatus.Running)
        {
            // 0: nobody holds it, 1: the claimant does, 2: another process does.
            await using var held = Command(conn, tx,
                $"SELECT CASE WHEN NOT {PostgresFitLeases.Held} THEN 0 WHEN claimed_by = @owner THEN 1 ELSE 2 END FROM fits WHERE id = @id",
                ("id", id), ("owner", claim.Owner));
            var holder = (int)(await held.ExecuteScalarAsync(ct))!;
            if (holder == 2 || (holder == 1 && !claim.TakeBack(id))) return new StartResult(StartOutcome.Leased, fit, fit.Attempt);
        }
        var at = Utc(now);
        if (fit!.CancelRequested)
        {
            await ExecAsync(conn, tx, "UPDATE fits SET status = @s, stop_reason = 'cancelled', finished_at = @now WHERE id = @id", ct,
                ("s", (int)FitStatus.Cancelled), ("now", at), ("id", id));
            return FitLifecycle.CancelledAtStart(fit);
        }
        var started = FitLifecycle.Started(fit, at);
        var lease = claim is not null ? "claimed_by = @owner, lease_until = now() + @lease" : "claimed_by = NULL, lease_until = NULL";
        (string, object?)[] leaseArgs = claim is not null ? [("owner", claim.Owner), ("lease", claim.Duration)] : [];
        await ExecAsync(conn, tx, $"""
            UPDATE fits SET status = @s, attempt = @a, step = 0, params = NULL, loss = NULL,
                            started_at = COALESCE(started_at, @now), {lease}
            WHERE id = @id
            """, ct, [("s", (int)FitStatus.Running), ("a", started.Attempt), ("now", at), ("id", id), .. leaseArgs]);
        await ExecAsync(conn, tx, "DELETE FROM fit_history WHERE fit_id = @id", ct, ("id", id));
        return started;
    }, ct);

    public async Task<bool> SaveProgressAsync(string id, FitProgressUpdate update, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // One statement: the row update (which locks the row, so a concurrent restart waits or wins), the new history
        // chunk only when that update hit the current attempt, and the cancellation flag. A deleted fit counts as
        // cancelled: nobody is waiting for it any more.
        await using var cmd = Command(conn, null, """
            WITH u AS (
                UPDATE fits SET step = @step, params = @params, loss = @loss,
                                lease_until = CASE WHEN claimed_by IS NULL THEN lease_until ELSE now() + @lease END
                WHERE id = @id AND attempt = @a AND status = @running
                RETURNING id, cancel_requested),
            h AS (
                INSERT INTO fit_history (fit_id, start, data)
                SELECT id, @start, @data FROM u WHERE length(@data) > 0
                ON CONFLICT (fit_id, start) DO UPDATE SET data = excluded.data)
            SELECT COALESCE((SELECT cancel_requested FROM u), (SELECT cancel_requested FROM fits WHERE id = @id), true)
            """,
            ("step", update.Step), ("params", DoubleBlobs.ToBytes(update.Params)), ("loss", Finite(update.Loss)),
            ("id", id), ("a", update.Attempt), ("running", (int)FitStatus.Running), ("lease", LeaseDuration),
            ("start", update.HistoryOffset), ("data", DoubleBlobs.ToBytes(update.NewHistory)));
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    public Task<bool> SaveOutcomeAsync(string id, string outcomeJson, CancellationToken ct) => InTransactionAsync(async (conn, tx) =>
        await ExecAsync(conn, tx, "UPDATE fits SET outcome = @outcome, optimum_pending = false WHERE id = @id AND status >= 2", ct,
            ("outcome", outcomeJson), ("id", id)) > 0, ct);

    public Task<bool> CompleteAsync(string id, FitCompletion completion, CancellationToken ct) => InTransactionAsync(async (conn, tx) =>
    {
        var changed = await ExecAsync(conn, tx, """
            UPDATE fits SET status = @s, stop_reason = @reason, step = @step, params = @params, loss = @loss, error = @error,
                            finished_at = @finished, claimed_by = NULL, lease_until = NULL, outcome = @outcome, optimum_pending = @pending
            WHERE id = @id AND status < 2
            """, ct, ("outcome", completion.OutcomeJson), ("pending", completion.OptimumPending),
            ("s", (int)completion.Status), ("reason", completion.StopReason), ("step", completion.Step),
            ("params", DoubleBlobs.ToBytes(completion.Params)), ("loss", Finite(completion.Loss)),
            ("error", completion.Error), ("finished", Utc(completion.FinishedAt)), ("id", id));
        if (changed == 0) return false;
        // The end's NOTIFY rides with the history's DELETE (one round trip) and is delivered at the commit.
        (string, object?)[] notice = EndNotice is null ? [] : [("channel", Notifications.PostgresFitSignals.Channel), ("notice", EndNotice(id, completion))];
        await ExecAsync(conn, tx, "DELETE FROM fit_history WHERE fit_id = @id" + (EndNotice is null ? "" : "; SELECT pg_notify(@channel, @notice)"), ct,
            [("id", id), .. notice]);
        if (completion.History.Length > 0)
        {
            await ExecAsync(conn, tx, "INSERT INTO fit_history (fit_id, start, data) VALUES (@id, 0, @data)", ct,
                ("id", id), ("data", DoubleBlobs.ToBytes(completion.History)));
        }
        return true;
    }, ct);

    /// <summary>The end of <see cref="CompleteManyAsync"/> with <see cref="EndNotice"/>: a NOTIFY for each fit that ended now, sent at the commit.</summary>
    private const string EndsAnnounced = "SELECT u.id, pg_notify(@channel, n.notice) FROM u JOIN unnest(@ids, @notices) AS n(id, notice) ON n.id = u.id";

    /// <summary>
    /// The statement of <see cref="CompleteManyAsync"/>. The history becomes one chunk at start 0: later chunks of the attempt
    /// go, chunk 0 is overwritten (deleting and inserting one key in one statement would collide).
    /// </summary>
    internal static string CompleteManySql(bool announce) => $"""
        WITH v AS (
            SELECT * FROM unnest(@ids, @status, @reason, @step, @params, @loss, @error, @finished, @history, @outcome, @pending)
                AS v(id, status, reason, step, params, loss, error, finished, history, outcome, pending)),
        u AS (
            UPDATE fits f SET status = v.status, stop_reason = v.reason, step = v.step, params = v.params, loss = v.loss,
                              error = v.error, finished_at = v.finished, claimed_by = NULL, lease_until = NULL,
                              outcome = v.outcome, optimum_pending = v.pending
            FROM v WHERE f.id = v.id AND f.status < 2
            RETURNING f.id, v.history),
        d AS (DELETE FROM fit_history h USING u WHERE h.fit_id = u.id AND (h.start > 0 OR length(u.history) = 0)),
        i AS (
            INSERT INTO fit_history (fit_id, start, data) SELECT id, 0, history FROM u WHERE length(history) > 0
            ON CONFLICT (fit_id, start) DO UPDATE SET data = excluded.data)
        {(announce ? EndsAnnounced : "SELECT id FROM u")}
        """;

    /// <summary>
    /// The planner settings of <see cref="CompleteManySql"/>, for its transaction only. With no sequential scan allowed, the
    /// chunk's history is found by <c>fit_history</c>'s key, a few rows per fit. Statistics taken while the table held the
    /// progress chunks of a few long fits (many rows per fit) otherwise make every chunk's end read the whole table into a
    /// hash join (half the ends of a bench run did). No JIT either: a plan that had to scan anyway would be compiled.
    /// </summary>
    internal const string CompleteManyPlan = "SET LOCAL enable_seqscan = off; SET LOCAL jit = off";

    /// <summary><see cref="CompleteAsync"/> for a chunk of fits in one statement (it releases their leases too).</summary>
    public async Task<IReadOnlyList<string>> CompleteManyAsync(IReadOnlyList<(string Id, FitCompletion Completion)> completions, CancellationToken ct)
    {
        if (completions.Count == 0) return [];
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // The ends (and their NOTIFYs) are stored by the commit, once every ended id is read.
        await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, ct);
        await using var cmd = Command(conn, tx, $"{CompleteManyPlan};\n{CompleteManySql(EndNotice is not null)}");
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
        // The flag the pending-optimum sweep looks for: without it a worker that dies before the optimum leaves it pending forever.
        Array<bool>(cmd, "pending", NpgsqlDbType.Boolean, completions.Select(c => c.Completion.OptimumPending));
        if (EndNotice is { } notice)
        {
            cmd.Parameters.AddWithValue("channel", Notifications.PostgresFitSignals.Channel);
            Array<string>(cmd, "notices", NpgsqlDbType.Text, completions.Select(c => notice(c.Id, c.Completion)));
        }
        var ended = new List<string>(completions.Count);
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) ended.Add(reader.GetString(0));
        }
        await tx.CommitAsync(CancellationToken.None);
        return ended;
    }

    public Task<CancelOutcome> RequestCancelAsync(string tenant, string id, DateTimeOffset now, CancellationToken ct) => InTransactionAsync(async (conn, tx) =>
    {
        var fit = await QuerySingleAsync(conn, tx, $"SELECT {Columns} FROM fits WHERE id = @id AND tenant = @t FOR UPDATE", ct,
            ("id", id), ("t", tenant));
        var outcome = FitLifecycle.Cancel(fit);
        if (outcome == CancelOutcome.Cancelled)
        {
            await ExecAsync(conn, tx,
                "UPDATE fits SET status = @s, stop_reason = 'cancelled', cancel_requested = true, finished_at = @now WHERE id = @id", ct,
                ("s", (int)FitStatus.Cancelled), ("now", Utc(now)), ("id", id));
        }
        else if (outcome == CancelOutcome.Requested)
        {
            await ExecAsync(conn, tx, "UPDATE fits SET cancel_requested = true WHERE id = @id", ct, ("id", id));
        }
        return outcome;
    }, ct);

    public async Task<bool> DeleteAsync(string tenant, string id, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // Points and history go with the fit (trigger tr_fits_rows, schema version 13).
        return await ExecAsync(conn, null, "DELETE FROM fits WHERE id = @id AND tenant = @t", ct, ("id", id), ("t", tenant)) > 0;
    }

    public async Task<IReadOnlyList<string>> ListUnfinishedAsync(CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, UnendedSql);
        var ids = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetString(0));
        return ids;
    }

    public async Task<IReadOnlyList<string>> ListPendingOptimaAsync(DateTimeOffset endedBefore, int limit, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null,
            "SELECT id FROM fits WHERE optimum_pending AND finished_at < @before ORDER BY finished_at LIMIT @limit",
            ("before", Utc(endedBefore)), ("limit", limit));
        var ids = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>The tables that grow with every fit, whose statistics <see cref="RefreshYoungStatisticsAsync"/> keeps up with.</summary>
    internal static readonly string[] GrowingTables = ["fits", "fit_points", "fit_history"];

    /// <summary>
    /// The columns <see cref="RefreshYoungStatisticsAsync"/> has analyzed in each growing table: those the hot statements join,
    /// search or sort by. Any ANALYZE sets the table's size, which is what the plans of a young table lacked; the wide
    /// columns (the request, params, points, history) would cost most of its time and steer no plan.
    /// </summary>
    private static readonly Dictionary<string, string> AnalyzedColumns = new()
    {
        ["fits"] = "fits (seq, id, tenant, status, finished_at, batch_id, idempotency_key, claimed_by, lease_until)",
        ["fit_points"] = "fit_points (fit_id)",
        ["fit_history"] = "fit_history (fit_id, start)",
    };

    /// <summary>A young table is analyzed once it holds this many rows (a plan made for fewer may scan it whole).</summary>
    internal const int YoungTableRows = 500;

    /// <summary>
    /// The growing tables this process may analyze whose statistics PostgreSQL has not taken yet, or took when the table held
    /// less than half of its rows now (live rows as the statistics collector counts them).
    /// </summary>
    internal const string StaleStatisticsSql = """
        SELECT c.relname::text FROM pg_class c
        WHERE c.oid = ANY (@tables::regclass[]) AND pg_has_role(c.relowner, 'USAGE')
          AND pg_stat_get_live_tuples(c.oid) >= @rows AND (c.reltuples < 0 OR pg_stat_get_live_tuples(c.oid) >= 2 * c.reltuples)
        """;

    /// <summary>
    /// Analyzes the growing tables of a young database whose statistics lag far behind their size, and returns their names.
    /// A connection keeps each hot statement prepared with a plan PostgreSQL made once, for the table as its statistics
    /// described it then: made while the table was new (no statistics: a few pages assumed), the chunk end's plan scans
    /// every row of <c>fits</c> per chunk, and keeps doing so as the table grows, until something invalidates it.
    /// An ANALYZE does: every session replans with the new figures. Autovacuum would, but only at its next round (up to a
    /// minute on a fresh server, and never where it is off); a table doubles many times in that minute at a few hundred
    /// fits a second. Doubling-spaced, this is a handful of ANALYZEs per table over its life; past the first minutes,
    /// autovacuum's own threshold (10 % growth) comes first. Tables this role does not own are left alone (ANALYZE would only warn).
    /// </summary>
    public async Task<IReadOnlyList<string>> RefreshYoungStatisticsAsync(CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        var stale = new List<string>();
        await using (var cmd = Command(conn, null, StaleStatisticsSql, ("tables", GrowingTables), ("rows", YoungTableRows)))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) stale.Add(reader.GetString(0));
        }
        if (stale.Count == 0) return stale;
        // The names come from GrowingTables, never from input. SKIP_LOCKED: another worker analyzing them now is as good.
        await ExecAsync(conn, null, $"ANALYZE (SKIP_LOCKED) {string.Join(", ", stale.Select(t => AnalyzedColumns[t]))}", ct);
        return stale;
    }

    public async Task<long> CountQueuedAsync(CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, QueuedCountSql);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct));
    }

    public async Task<int> CountActiveAsync(string tenant, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, ActiveCountSql, ("t", tenant));
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct));
    }

    public async Task<BatchCreateResult> CreateBatchAsync(NewBatch batch, IReadOnlyList<NewFit> fits, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // The batch holding the key can be deleted between our insert and our re-select: then try again.
        for (var attempt = 1; ; attempt++)
        {
            if (await TryCreateBatchAsync(conn, batch, fits, ct) is { } result) return result;
            if (attempt == 3) throw new InvalidOperationException($"Idempotency key '{batch.IdempotencyKey}' is taken by a batch that cannot be found.");
        }
    }

    private static async Task<BatchCreateResult?> TryCreateBatchAsync(NpgsqlConnection conn, NewBatch batch, IReadOnlyList<NewFit> fits, CancellationToken ct)
    {
        await using var tx = await conn.BeginTransactionAsync(ct);
        // A concurrent create with the same key waits on the unique index, then inserts nothing: the batch it made is found after.
        await using (var insert = Command(conn, tx, """
            INSERT INTO batches (id, tenant, created_at, label, request, idempotency_key, request_hash)
            VALUES (@id, @t, @created, @label, @request, @key, @hash)
            ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            """, ("id", batch.Id), ("t", batch.Tenant), ("created", Utc(batch.CreatedAt)), ("label", batch.Label), ("request", batch.RequestJson),
            ("key", batch.IdempotencyKey), ("hash", batch.RequestHash)))
        {
            if (await insert.ExecuteNonQueryAsync(ct) == 0)
            {
                await tx.RollbackAsync(CancellationToken.None);
                await using var find = Command(conn, null, "SELECT id, request_hash FROM batches WHERE tenant = @t AND idempotency_key = @k",
                    ("t", batch.Tenant), ("k", batch.IdempotencyKey));
                await using var found = await find.ExecuteReaderAsync(ct);
                if (!await found.ReadAsync(ct)) return null;
                var same = !found.IsDBNull(1) && found.GetString(1) == batch.RequestHash;
                return new BatchCreateResult(same ? CreateOutcome.Existing : CreateOutcome.Conflict, found.GetString(0));
            }
        }
        // Binary COPY: thousands of fits and their points in two round trips, inside the batch's transaction.
        await using (var copy = await conn.BeginBinaryImportAsync(
            "COPY fits (id, tenant, status, steps, history_every, created_at, request, label, points, batch_id, request_hash, trace_parent) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var fit in fits)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(fit.Id, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await copy.WriteAsync(fit.Tenant, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await copy.WriteAsync((int)FitStatus.Queued, NpgsqlTypes.NpgsqlDbType.Integer, ct);
                await copy.WriteAsync(fit.Steps, NpgsqlTypes.NpgsqlDbType.Integer, ct);
                await copy.WriteAsync(fit.HistoryEvery, NpgsqlTypes.NpgsqlDbType.Integer, ct);
                await copy.WriteAsync(Utc(fit.CreatedAt), NpgsqlTypes.NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(fit.RequestJson, NpgsqlTypes.NpgsqlDbType.Text, ct);
                if (fit.Label is null) await copy.WriteNullAsync(ct);
                else await copy.WriteAsync(fit.Label, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await copy.WriteAsync(fit.X.Length, NpgsqlTypes.NpgsqlDbType.Integer, ct);
                await copy.WriteAsync(batch.Id, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await copy.WriteAsync(fit.RequestHash, NpgsqlTypes.NpgsqlDbType.Text, ct);
                if (fit.TraceParent is null) await copy.WriteNullAsync(ct);
                else await copy.WriteAsync(fit.TraceParent, NpgsqlTypes.NpgsqlDbType.Text, ct);
            }
            await copy.CompleteAsync(ct);
        }
        await using (var copy = await conn.BeginBinaryImportAsync("COPY fit_points (fit_id, x, y, w) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var fit in fits)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(fit.Id, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await copy.WriteAsync(DoubleBlobs.ToBytes(fit.X), NpgsqlTypes.NpgsqlDbType.Bytea, ct);
                await copy.WriteAsync(DoubleBlobs.ToBytes(fit.Y), NpgsqlTypes.NpgsqlDbType.Bytea, ct);
                if (fit.Weights is null) await copy.WriteNullAsync(ct);
                else await copy.WriteAsync(DoubleBlobs.ToBytes(fit.Weights), NpgsqlTypes.NpgsqlDbType.Bytea, ct);
            }
            await copy.CompleteAsync(ct);
        }
        await tx.CommitAsync(CancellationToken.None);
        return new BatchCreateResult(CreateOutcome.Created, batch.Id);
    }

    public async Task<BatchRecord?> GetBatchAsync(string tenant, string id, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // One statement, one snapshot: the batch and the status of each of its fits.
        await using var cmd = Command(conn, null, """
            SELECT b.created_at, b.label, b.request, f.id, f.status
            FROM batches b LEFT JOIN fits f ON f.batch_id = b.id AND f.tenant = b.tenant
            WHERE b.id = @id AND b.tenant = @t
            ORDER BY f.seq
            """, ("id", id), ("t", tenant));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        BatchRecord? batch = null;
        var ids = new List<string>();
        var statuses = new List<FitStatus>();
        var counts = Enum.GetValues<FitStatus>().ToDictionary(s => s, _ => 0);
        while (await reader.ReadAsync(ct))
        {
            batch ??= new BatchRecord
            {
                Id = id, Tenant = tenant, CreatedAt = reader.GetFieldValue<DateTimeOffset>(0),
                Label = reader.IsDBNull(1) ? null : reader.GetString(1), RequestJson = reader.GetString(2), FitIds = ids, Counts = counts,
                FitStatuses = statuses,
            };
            if (reader.IsDBNull(3)) continue;
            ids.Add(reader.GetString(3));
            statuses.Add((FitStatus)reader.GetInt32(4));
            counts[statuses[^1]]++;
        }
        return batch;
    }

    public async Task<IReadOnlyList<FitRecord>> ListBatchFitsAsync(string tenant, string batchId, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, $"SELECT {Columns} FROM fits WHERE batch_id = @b AND tenant = @t ORDER BY seq", ("b", batchId), ("t", tenant));
        return await ReadAllAsync(cmd, Time, ct);
    }

    public async Task<bool> HasUnfinishedFitsAsync(string batchId, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, UnendedInBatchSql, ("b", batchId));
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    public Task<bool> DeleteBatchAsync(string tenant, string id, CancellationToken ct) => InTransactionAsync(async (conn, tx) =>
    {
        if (await ExecAsync(conn, tx, "DELETE FROM batches WHERE id = @id AND tenant = @t", ct, ("id", id), ("t", tenant)) == 0) return false;
        await ExecAsync(conn, tx, "DELETE FROM fits WHERE batch_id = @id AND tenant = @t", ct, ("id", id), ("t", tenant));
        return true;
    }, ct);

    public async Task<int> DeleteEndedAsync(FitStatus status, DateTimeOffset endedBefore, int limit, RetentionScope scope, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        (string, object?)[] tenants = [("tenant", (object?)scope.Tenant ?? DBNull.Value), ("except", scope.Except.ToArray())];
        // Points and history go with the fits (trigger tr_fits_rows); rows being locked by a writer are skipped, not waited for.
        var deleted = await ExecAsync(conn, null, $"""
            DELETE FROM fits WHERE id IN (
                SELECT id FROM fits WHERE finished_at IS NOT NULL AND finished_at < @before AND status = @s AND {TenantsIn("tenant")}
                ORDER BY finished_at LIMIT @n FOR UPDATE SKIP LOCKED)
            """, ct, [("before", Utc(endedBefore)), ("s", (int)status), ("n", limit), .. tenants]);
        await ExecAsync(conn, null, $"""
            DELETE FROM batches WHERE id IN (
                SELECT b.id FROM batches b WHERE b.created_at < @before AND {TenantsIn("b.tenant")}
                AND NOT EXISTS (SELECT 1 FROM fits f WHERE f.batch_id = b.id) LIMIT @n)
            """, ct, [("before", Utc(endedBefore)), ("n", limit), .. tenants]);
        return deleted;
    }

    /// <summary>The tenant condition of a <see cref="RetentionScope"/> on <paramref name="column"/> (parameters <c>@tenant</c>, <c>@except</c>).</summary>
    private static string TenantsIn(string column) => $"(@tenant::text IS NULL OR {column} = @tenant::text) AND NOT ({column} = ANY(@except::text[]))";

    public async Task PingAsync(CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, "SELECT COUNT(*) FROM fits WHERE false");
        await cmd.ExecuteScalarAsync(ct);
    }

    public ValueTask DisposeAsync()
    {
        _submissions?.Dispose();
        return _dataSource.DisposeAsync();
    }

    private static async Task<CreateResult?> FindByKeyAsync(NpgsqlConnection conn, NewFit fit, CancellationToken ct)
    {
        var existing = await QuerySingleAsync(conn, null, $"SELECT {Columns} FROM fits WHERE tenant = @t AND idempotency_key = @k", ct,
            ("t", fit.Tenant), ("k", fit.IdempotencyKey));
        if (existing is null) return null;
        return new CreateResult(existing.RequestHash == fit.RequestHash ? CreateOutcome.Existing : CreateOutcome.Conflict, existing);
    }

    private Task<T> InTransactionAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken ct) =>
        PostgresSchema.InTransactionAsync(_dataSource, work, ct);

    private static async Task<FitRecord?> QuerySingleAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(conn, tx, sql, args);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadFit(reader) : null;
    }

    private static int ByteIndex(int count) => (int)Math.Min(8L * count, int.MaxValue - 1);

    private static FitRecord ReadFit(NpgsqlDataReader reader) => Read(reader, Time);

    private static void Array<T>(NpgsqlCommand cmd, string name, NpgsqlDbType element, IEnumerable<T> values) =>
        cmd.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | element) { Value = values.ToArray() });
}
