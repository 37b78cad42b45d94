using Microsoft.Data.Sqlite;
using static FitService.Api.Storage.SqliteDatabase;

namespace FitService.Api.Storage;

/// <summary>
/// The schema of the embedded SQLite file as one ordered list of migrations: the fit store's tables and the delivery
/// store's share the file, and the file has one version, its <c>PRAGMA user_version</c> (the number of migrations
/// applied). A process applies those the file has not seen, each in its own write transaction that also sets the
/// version, so a crash leaves the file at one version or the next. Append, never edit.
/// </summary>
/// <remarks>
/// Versions 1 to <see cref="Unversioned"/> are the schema as it stood before the file had a version. A file written then
/// has <c>user_version</c> 0 and any of them (each start applied what was missing), so those migrations are written to
/// run over a file that already has what they add: tables and indexes <c>IF NOT EXISTS</c>, columns only when missing.
/// Later migrations run exactly once.
/// </remarks>
internal static class SqliteSchema
{
    /// <summary>A step of the schema: SQL, after adding the <paramref name="Columns"/> (table, column, definition) a table lacks.</summary>
    private sealed record Migration(string Sql, params (string Table, string Column, string Definition)[] Columns);

    private static readonly Migration[] Migrations =
    [
        // 1: fits, their points and history, batches.
        new("""
            CREATE TABLE IF NOT EXISTS fits (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                tenant TEXT NOT NULL,
                status INTEGER NOT NULL,
                stop_reason TEXT,
                step INTEGER NOT NULL DEFAULT 0,
                steps INTEGER NOT NULL,
                params BLOB,
                loss REAL,
                history_every INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                started_at INTEGER,
                finished_at INTEGER,
                error TEXT,
                request TEXT NOT NULL,
                label TEXT,
                points INTEGER NOT NULL,
                cancel_requested INTEGER NOT NULL DEFAULT 0,
                batch_id TEXT,
                idempotency_key TEXT,
                request_hash TEXT NOT NULL,
                attempt INTEGER NOT NULL DEFAULT 0);
            CREATE UNIQUE INDEX IF NOT EXISTS ix_fits_idempotency ON fits(tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
            CREATE INDEX IF NOT EXISTS ix_fits_tenant_seq ON fits(tenant, seq);
            CREATE INDEX IF NOT EXISTS ix_fits_unfinished ON fits(status) WHERE status < 2;
            CREATE INDEX IF NOT EXISTS ix_fits_batch ON fits(batch_id) WHERE batch_id IS NOT NULL;
            CREATE TABLE IF NOT EXISTS fit_points (fit_id TEXT PRIMARY KEY, x BLOB NOT NULL, y BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS fit_history (
                fit_id TEXT NOT NULL, start INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (fit_id, start));
            CREATE TABLE IF NOT EXISTS batches (
                id TEXT PRIMARY KEY, tenant TEXT NOT NULL, created_at INTEGER NOT NULL, label TEXT, request TEXT NOT NULL);
            """),
        // 2: what a run is (a fit or a learning-rate finder run) and what the worker computed beside it (optimum, gap, finder curve).
        new("", ("fits", "kind", "TEXT NOT NULL DEFAULT 'fit'"), ("fits", "outcome", "TEXT")),
        // 3: quotas and batch completion read a tenant's or a batch's unfinished fits only, by index (see SqliteQueryPlanTests).
        new("""
            CREATE INDEX IF NOT EXISTS ix_fits_active ON fits(tenant) WHERE status < 2;
            CREATE INDEX IF NOT EXISTS ix_fits_batch_unfinished ON fits(batch_id) WHERE status < 2;
            """),
        // 4: Idempotency-Key on batches, unique per tenant as on fits.
        new("CREATE UNIQUE INDEX IF NOT EXISTS ix_batches_idempotency ON batches(tenant, idempotency_key) WHERE idempotency_key IS NOT NULL",
            ("batches", "idempotency_key", "TEXT"), ("batches", "request_hash", "TEXT")),
        // 5: ended fits whose optimum is still to be computed, found by the sweep should their worker stop (those an older
        // version left pending included: the update marks only fits whose outcome still says so, so running it again changes nothing).
        new("""
            UPDATE fits SET optimum_pending = 1 WHERE status >= 2 AND outcome LIKE '%"optimumPending":true%';
            CREATE INDEX IF NOT EXISTS ix_fits_optimum_pending ON fits(finished_at) WHERE optimum_pending = 1;
            """, ("fits", "optimum_pending", "INTEGER NOT NULL DEFAULT 0")),
        // 6: per-point weights beside the points; NULL for fits stored without them (all of them before this version).
        new("", ("fit_points", "w", "BLOB")),
        // 7: the W3C traceparent of the submitting request, so the worker and webhook spans join the fit's trace.
        new("", ("fits", "trace_parent", "TEXT")),
        // 8: webhook events and their attempts (SqliteDeliveryStore). A fit or batch that goes (retention, DELETE) takes its
        // event and attempts along (a batch's event names the batch in fit_id, so no foreign key can say it).
        new("""
            CREATE TABLE IF NOT EXISTS webhook_events (
                id TEXT PRIMARY KEY,
                fit_id TEXT NOT NULL UNIQUE,
                tenant TEXT NOT NULL,
                url TEXT NOT NULL,
                type TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                state INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                round_start INTEGER NOT NULL DEFAULT 0,
                next_attempt_at INTEGER,
                claimed_until INTEGER);
            CREATE INDEX IF NOT EXISTS ix_webhook_events_pending ON webhook_events(next_attempt_at) WHERE state = 0;
            CREATE TABLE IF NOT EXISTS webhook_attempts (
                event_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                started_at INTEGER NOT NULL,
                duration_ms INTEGER NOT NULL,
                status_code INTEGER,
                error TEXT,
                PRIMARY KEY (event_id, attempt));
            CREATE INDEX IF NOT EXISTS ix_fits_finished ON fits(finished_at) WHERE finished_at IS NOT NULL;
            CREATE TRIGGER IF NOT EXISTS tr_fits_deliveries AFTER DELETE ON fits BEGIN
                DELETE FROM webhook_attempts WHERE event_id IN (SELECT id FROM webhook_events WHERE fit_id = OLD.id);
                DELETE FROM webhook_events WHERE fit_id = OLD.id;
            END;
            CREATE TRIGGER IF NOT EXISTS tr_batches_deliveries AFTER DELETE ON batches BEGIN
                DELETE FROM webhook_attempts WHERE event_id IN (SELECT id FROM webhook_events WHERE fit_id = OLD.id);
                DELETE FROM webhook_events WHERE fit_id = OLD.id;
            END;
            """),
        // 9 (the first versioned one): a fit that goes takes its points and history along, as PostgreSQL's ON DELETE CASCADE
        // does; every delete (DeleteAsync, DeleteBatchAsync, retention) then names only the fits. A trigger rather than
        // a foreign key: it is in the file for every connection (foreign keys act only where PRAGMA foreign_keys is on),
        // and adding it rewrites no table (a foreign key would copy every point and history chunk of the file).
        new("""
            CREATE TRIGGER tr_fits_cascade AFTER DELETE ON fits BEGIN
                DELETE FROM fit_points WHERE fit_id = OLD.id;
                DELETE FROM fit_history WHERE fit_id = OLD.id;
            END;
            """),
        // 10: batches whose fits are being stored in slices (SqliteFitStore.CreateBatchAsync): a row from the first slice's
        // commit to the last's; one left at start names a batch never accepted, whose fits recovery drops.
        new("CREATE TABLE batches_storing (id TEXT PRIMARY KEY)"),
        // 11: fewer index entries written per fit. The unfinished fits are found by finished_at IS NULL rather than status < 2:
        // a start (queued to running) then changes no indexed column, so it rewrites the row alone, where it rewrote three
        // partial indexes; the index of every unfinished fit by status goes (recovery and the queued gauge walk the tenant's
        // one), and one-POST fits are left out of the batch's. Every fit that has ended has finished_at (each end writes it);
        // the update makes that hold for any row that would not.
        new("""
            UPDATE fits SET finished_at = COALESCE(started_at, created_at) WHERE status >= 2 AND finished_at IS NULL;
            DROP INDEX ix_fits_unfinished;
            DROP INDEX ix_fits_active;
            DROP INDEX ix_fits_batch_unfinished;
            CREATE INDEX ix_fits_open ON fits(tenant) WHERE finished_at IS NULL;
            CREATE INDEX ix_fits_batch_open ON fits(batch_id) WHERE batch_id IS NOT NULL AND finished_at IS NULL;
            """),
        // 12: a fit's outcome (optimum, gap, statistics: ~850 bytes of JSON for the lesson) in a table of its own, written
        // once at the end. In the row, it grew every row of a batch from ~450 bytes to ~1.4 KB when its fit ended, which
        // split the pages of the batch's rows and made each read of a batch's statuses read the outcomes too. Rows of fits
        // that ended before keep theirs (FitRows.SqliteColumns reads either); a new outcome for one of them goes here. So
        // do the rows of fits stored once, ended (Prefer: wait), which are written whole. A rowid table: appended in id
        // order, its pages fill up (WITHOUT ROWID's half-filled pages wrote more to the log).
        new("""
            CREATE TABLE fit_outcomes (fit_id TEXT PRIMARY KEY, outcome TEXT NOT NULL);
            DROP TRIGGER tr_fits_cascade;
            CREATE TRIGGER tr_fits_cascade AFTER DELETE ON fits BEGIN
                DELETE FROM fit_points WHERE fit_id = OLD.id;
                DELETE FROM fit_history WHERE fit_id = OLD.id;
                DELETE FROM fit_outcomes WHERE fit_id = OLD.id;
            END;
            """),
        // 13: a batch's points stored once, in fit_points under the batch's id, for its fits that share them (every item
        // that sets no points: SqliteFitStore.InsertBatchFits); such a fit has no row of its own, and reads its batch's.
        // They go when the batch goes (its fits are gone by then: a batch is deleted with its fits, or once empty).
        new("""
            CREATE TRIGGER tr_batches_points AFTER DELETE ON batches BEGIN
                DELETE FROM fit_points WHERE fit_id = OLD.id;
            END;
            """),
    ];

    /// <summary>The migrations that stood before the file had a version (see the remarks).</summary>
    private const int Unversioned = 8;

    /// <summary>The version this code brings a file to.</summary>
    public static int Version => Migrations.Length;

    /// <summary>Applies the migrations the file has not seen, one write transaction each; safe when several stores start at once.</summary>
    public static async Task MigrateAsync(SqliteDatabase db, CancellationToken ct)
    {
        // The version is read inside the write, under the file's write lock, so two processes never apply one step twice.
        while (await db.WriteAsync((conn, tx) => ApplyNextAsync(conn, tx, ct), ct)) { }
    }

    private static async Task<bool> ApplyNextAsync(SqliteConnection conn, SqliteTransaction tx, CancellationToken ct)
    {
        var version = await UserVersionAsync(conn, tx, ct);
        // An earlier version cannot read what later ones write (from 12 on, outcomes and a batch's shared points are out of
        // the fits' rows): it would show fits without either rather than fail. An embedded upgrade is a stop and a start.
        if (version > Migrations.Length)
        {
            throw new InvalidOperationException(
                $"The SQLite file is at schema version {version}, newer than this version of FitService knows ({Migrations.Length}): " +
                "run the version that wrote it, or a newer one.");
        }
        if (version == Migrations.Length) return false;
        var migration = Migrations[version];
        foreach (var (table, column, definition) in migration.Columns)
        {
            if (version >= Unversioned || !await HasColumnAsync(conn, tx, table, column, ct))
            {
                await ExecAsync(conn, tx, $"ALTER TABLE {table} ADD COLUMN {column} {definition}", ct);
            }
        }
        if (migration.Sql.Length > 0) await ExecAsync(conn, tx, migration.Sql, ct);
        // The version is a header field written by the transaction: it commits or rolls back with the migration.
        await ExecAsync(conn, tx, $"PRAGMA user_version = {version + 1}", ct);
        return true;
    }

    public static async Task<int> UserVersionAsync(SqliteConnection conn, SqliteTransaction? tx, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, "PRAGMA user_version");
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<bool> HasColumnAsync(SqliteConnection conn, SqliteTransaction tx, string table, string column, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, "SELECT 1 FROM pragma_table_info($table) WHERE name = $column", ("$table", table), ("$column", column));
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }
}
