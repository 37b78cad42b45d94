using Npgsql;
using static FitService.Api.Storage.PostgresSchema;
using static FitService.Api.Storage.WebhookEventRows;

namespace FitService.Api.Storage;

/// <summary>
/// Webhook events and attempts in the shared PostgreSQL database, beside the fits of <see cref="PostgresFitStore"/>.
/// Every process may claim: a claim is one <c>UPDATE … WHERE</c> that carries the claim condition, so of several
/// processes claiming one attempt at once exactly one gets a row back (the others wait on the row lock, then see the
/// claim and match nothing). The tables have their own list of migrations and version table
/// (<c>webhook_schema_versions</c>), applied under the fit store's advisory lock, so the two stores' schema changes
/// take turns and neither list depends on the other's length. Times are <c>timestamptz</c> kept to the millisecond.
/// </summary>
public sealed class PostgresDeliveryStore : IDeliveryStore, IAsyncDisposable
{
    /// <summary>Schema versions of the delivery tables in order (own version table). Append, never edit.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS webhook_events (
            id text PRIMARY KEY,
            fit_id text NOT NULL UNIQUE,
            tenant text NOT NULL,
            url text NOT NULL,
            type text NOT NULL,
            payload text NOT NULL,
            created_at timestamptz NOT NULL,
            state integer NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            round_start integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz,
            claimed_until timestamptz);
        CREATE INDEX IF NOT EXISTS ix_webhook_events_pending ON webhook_events (next_attempt_at) WHERE state = 0;
        CREATE TABLE IF NOT EXISTS webhook_attempts (
            event_id text NOT NULL,
            attempt integer NOT NULL,
            started_at timestamptz NOT NULL,
            duration_ms bigint NOT NULL,
            status_code integer,
            error text,
            PRIMARY KEY (event_id, attempt));
        CREATE INDEX IF NOT EXISTS ix_fits_finished ON fits (finished_at) WHERE finished_at IS NOT NULL;
        """,
        // 2: a fit or batch that goes (retention, DELETE) takes its event and attempts along (batch events name the
        // batch in fit_id, so no foreign key can say it).
        """
        CREATE OR REPLACE FUNCTION webhook_events_of_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM webhook_attempts WHERE event_id IN (SELECT id FROM webhook_events WHERE fit_id = OLD.id);
            DELETE FROM webhook_events WHERE fit_id = OLD.id;
            RETURN NULL;
        END $$;
        DROP TRIGGER IF EXISTS tr_fits_deliveries ON fits;
        CREATE TRIGGER tr_fits_deliveries AFTER DELETE ON fits FOR EACH ROW EXECUTE FUNCTION webhook_events_of_deleted();
        DROP TRIGGER IF EXISTS tr_batches_deliveries ON batches;
        CREATE TRIGGER tr_batches_deliveries AFTER DELETE ON batches FOR EACH ROW EXECUTE FUNCTION webhook_events_of_deleted();
        """,
    ];

    private readonly NpgsqlDataSource _dataSource;

    /// <param name="connectionString">The same database as the fit store's (the recovery query reads the fits table).</param>
    /// <param name="loggerFactory">Npgsql's logging, as for <see cref="PostgresFitStore"/>.</param>
    public PostgresDeliveryStore(string connectionString, ILoggerFactory? loggerFactory = null)
    {
        var builder = DataSourceBuilder(connectionString);
        if (loggerFactory is not null) builder.UseLoggerFactory(loggerFactory);
        _dataSource = builder.Build();
    }

    /// <summary>The delivery schema version this code brings the database to.</summary>
    public static int SchemaVersion => Migrations.Length;

    public Task InitializeAsync(CancellationToken ct) => MigrateAsync(_dataSource, "webhook_schema_versions", Migrations, ct);

    public async Task<WebhookEvent> CreateEventAsync(NewWebhookEvent e, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // A concurrent create for the same fit waits on the unique index, then inserts nothing; the select (a new
        // statement, so a new snapshot) finds the event the other one made. An event deleted in between is made again.
        // The usual case, a new event, is one round trip: the insert returns it (a fit's end waits for this before its webhook).
        for (var attempt = 1; ; attempt++)
        {
            if (await QueryEventAsync(conn, null, $"""
                INSERT INTO webhook_events (id, fit_id, tenant, url, type, payload, created_at, state, next_attempt_at)
                VALUES (@v, @fit, @t, @url, @type, @payload, @created, @pending, @created)
                ON CONFLICT DO NOTHING
                RETURNING {Columns}
                """, e.Id, ct, ("fit", e.FitId), ("t", e.Tenant), ("url", e.Url), ("type", e.Type), ("payload", e.Payload),
                ("created", Utc(e.CreatedAt)), ("pending", (int)DeliveryState.Pending)) is { } created) return created;
            if (await QueryEventAsync(conn, null, $"SELECT {Columns} FROM webhook_events WHERE fit_id = @v", e.FitId, ct) is { } stored) return stored;
            if (attempt == 3) throw new InvalidOperationException($"Webhook event '{e.Id}' is taken by another fit than '{e.FitId}'.");
        }
    }

    public async Task<AttemptClaim?> CreateClaimedEventAsync(NewWebhookEvent e, DateTimeOffset claimUntil, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // The fit's row is share-locked while the event goes in: a DELETE of the fit waits for this commit and its trigger
        // then takes the event along, or it committed first and there is no row to insert from.
        var created = await QueryEventAsync(conn, null, $"""
            INSERT INTO webhook_events (id, fit_id, tenant, url, type, payload, created_at, state, next_attempt_at, attempts, claimed_until)
            SELECT @v, @fit, @t, @url, @type, @payload, @created, @pending, @created, 1, @until FROM fits WHERE id = @fit FOR KEY SHARE
            ON CONFLICT DO NOTHING
            RETURNING {Columns}
            """, e.Id, ct, ("fit", e.FitId), ("t", e.Tenant), ("url", e.Url), ("type", e.Type), ("payload", e.Payload),
            ("created", Utc(e.CreatedAt)), ("pending", (int)DeliveryState.Pending), ("until", Utc(claimUntil)));
        return created is null ? null : new AttemptClaim(created, 1, 1);
    }

    public async Task<WebhookEvent?> GetEventAsync(string eventId, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        return await QueryEventAsync(conn, null, $"SELECT {Columns} FROM webhook_events WHERE id = @v", eventId, ct);
    }

    public async Task<WebhookEvent?> GetEventForFitAsync(string fitId, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        return await QueryEventAsync(conn, null, $"SELECT {Columns} FROM webhook_events WHERE fit_id = @v", fitId, ct);
    }

    public async Task<IReadOnlyList<DeliveryAttempt>> ListAttemptsAsync(string eventId, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null,
            "SELECT attempt, started_at, duration_ms, status_code, error FROM webhook_attempts WHERE event_id = @id ORDER BY attempt", ("id", eventId));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<DeliveryAttempt>();
        while (await r.ReadAsync(ct))
        {
            list.Add(new DeliveryAttempt(r.GetInt32(0), r.GetFieldValue<DateTimeOffset>(1), TimeSpan.FromMilliseconds(r.GetInt64(2)),
                r.IsDBNull(3) ? null : r.GetInt32(3), r.IsDBNull(4) ? null : r.GetString(4)));
        }
        return list;
    }

    public async Task<AttemptClaim?> TryClaimAsync(string eventId, DateTimeOffset now, DateTimeOffset dueBy, DateTimeOffset claimUntil, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // The claim condition is in the WHERE: a racer that waited for the row lock re-checks it on the claimed row.
        var e = await QueryEventAsync(conn, null, $"""
            UPDATE webhook_events SET attempts = attempts + 1, claimed_until = @until
            WHERE id = @v AND state = @pending AND next_attempt_at <= @due AND (claimed_until IS NULL OR claimed_until <= @now)
            RETURNING {Columns}
            """, eventId, ct, ("pending", (int)DeliveryState.Pending), ("now", Utc(now)), ("due", Utc(dueBy)), ("until", Utc(claimUntil)));
        return e is null ? null : new AttemptClaim(e, e.Attempts, e.Attempts - e.RoundStart);
    }

    public Task RecordAttemptAsync(string eventId, DeliveryAttempt attempt, DeliveryState nextState, DateTimeOffset? nextAttemptAt, CancellationToken ct) =>
        InTransactionAsync(async (conn, tx) =>
        {
            // Lock the event first: it cannot be deleted under us, and a deleted one gets no orphan attempt.
            await using (var locked = Command(conn, tx, "SELECT 1 FROM webhook_events WHERE id = @id FOR UPDATE", ("id", eventId)))
            {
                if (await locked.ExecuteScalarAsync(ct) is null) return 0;
            }
            await ExecAsync(conn, tx, """
                INSERT INTO webhook_attempts (event_id, attempt, started_at, duration_ms, status_code, error)
                VALUES (@id, @n, @at, @ms, @code, @error)
                ON CONFLICT (event_id, attempt) DO UPDATE SET started_at = excluded.started_at, duration_ms = excluded.duration_ms,
                    status_code = excluded.status_code, error = excluded.error
                """, ct, ("id", eventId), ("n", attempt.Attempt), ("at", Utc(attempt.StartedAt)), ("ms", (long)attempt.Duration.TotalMilliseconds),
                ("code", attempt.StatusCode), ("error", attempt.Error));
            // Only the latest claim moves the event on: a holder whose claim lapsed and was taken over changes nothing.
            await ExecAsync(conn, tx, """
                UPDATE webhook_events SET state = @state, next_attempt_at = @next, claimed_until = NULL WHERE id = @id AND attempts = @n
                """, ct, ("state", (int)nextState), ("next", nextAttemptAt is { } at ? Utc(at) : (DateTimeOffset?)null), ("id", eventId), ("n", attempt.Attempt));
            return 0;
        }, ct);

    public async Task<bool> RedeliverAsync(string eventId, DateTimeOffset now, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        var changed = await ExecAsync(conn, null, """
            UPDATE webhook_events SET state = @pending, round_start = attempts, next_attempt_at = @now
            WHERE id = @id AND (claimed_until IS NULL OR claimed_until <= @now)
            """, ct, ("pending", (int)DeliveryState.Pending), ("id", eventId), ("now", Utc(now)));
        return changed == 1;
    }

    public async Task DeleteEventAsync(string eventId, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        // One statement: the event and its attempts go together.
        await ExecAsync(conn, null, """
            WITH a AS (DELETE FROM webhook_attempts WHERE event_id = @id)
            DELETE FROM webhook_events WHERE id = @id
            """, ct, ("id", eventId));
    }

    public async Task<IReadOnlyList<(string EventId, DateTimeOffset DueAt)>> ListPendingAsync(DateTimeOffset? dueBefore, CancellationToken ct)
    {
        // GREATEST ignores NULLs: no claim, the due time is the next attempt's.
        var sql = "SELECT id, due FROM (SELECT id, GREATEST(next_attempt_at, claimed_until) AS due FROM webhook_events WHERE state = @pending) p"
            + (dueBefore is null ? "" : " WHERE due < @before")
            + " ORDER BY due, id";
        var args = new List<(string, object?)> { ("pending", (int)DeliveryState.Pending) };
        if (dueBefore is { } before) args.Add(("before", Utc(before)));

        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, sql, [.. args]);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<(string, DateTimeOffset)>();
        while (await r.ReadAsync(ct)) list.Add((r.GetString(0), r.GetFieldValue<DateTimeOffset>(1)));
        return list;
    }

    public async Task<IReadOnlyList<string>> ListEndedFitsWithoutEventAsync(DateTimeOffset? finishedSince, CancellationToken ct)
    {
        var since = finishedSince is null ? "" : "AND f.finished_at >= @since";
        // The text test first: a fit without a webhook stores "webhook":null, and parsing every recent fit's request as
        // jsonb, every sweep of every worker process, cost the database more than a tenth of its time under load.
        // The jsonb test stays the judge (the text could appear in a label).
        var sql = $"""
            SELECT f.id FROM fits f
            WHERE f.finished_at IS NOT NULL AND f.status >= @ended {since}
              AND strpos(f.request, @webhookText) > 0 AND (f.request::jsonb -> 'webhook' ->> 'url') IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.fit_id = f.id)
            ORDER BY f.finished_at, f.seq
            """;
        var args = new List<(string, object?)> { ("ended", (int)FitStatus.Succeeded), ("webhookText", "\"webhook\":{") };
        if (finishedSince is { } from) args.Add(("since", Utc(from)));

        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, sql, [.. args]);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var ids = new List<string>();
        while (await r.ReadAsync(ct)) ids.Add(r.GetString(0));
        return ids;
    }

    public async Task<IReadOnlyList<(string BatchId, string Tenant)>> ListCompletedBatchesWithoutEventAsync(DateTimeOffset? finishedSince, CancellationToken ct)
    {
        // A sweep starts from the fits that ended lately (ix_fits_finished), not from every batch ever submitted; only the
        // pass at start reads them all. A batch's event carries the batch id where a fit's carries the fit id.
        var recent = finishedSince is null ? "" : "b.id IN (SELECT f.batch_id FROM fits f WHERE f.finished_at >= @since AND f.batch_id IS NOT NULL) AND";
        var sql = $"""
            SELECT b.id, b.tenant FROM batches b
            WHERE {recent} (b.request::jsonb -> 'webhook' ->> 'url') IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.fit_id = b.id)
              AND NOT EXISTS (SELECT 1 FROM fits f WHERE f.batch_id = b.id AND f.finished_at IS NULL AND f.status < @ended)
            ORDER BY b.created_at
            """;
        var args = new List<(string, object?)> { ("ended", (int)FitStatus.Succeeded) };
        if (finishedSince is { } from) args.Add(("since", Utc(from)));

        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = Command(conn, null, sql, [.. args]);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var batches = new List<(string, string)>();
        while (await r.ReadAsync(ct)) batches.Add((r.GetString(0), r.GetString(1)));
        return batches;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private Task<T> InTransactionAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken ct) =>
        PostgresSchema.InTransactionAsync(_dataSource, work, ct);

    /// <summary>Runs <paramref name="sql"/> (a select or an update returning <see cref="Columns"/>) with <c>@v</c> = <paramref name="value"/>.</summary>
    private static async Task<WebhookEvent?> QueryEventAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, string value, CancellationToken ct,
        params (string, object?)[] args)
    {
        await using var cmd = Command(conn, tx, sql, [("v", value), .. args]);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? Read(r, Time) : null;
    }
}
