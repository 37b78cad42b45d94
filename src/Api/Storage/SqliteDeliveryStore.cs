using Microsoft.Data.Sqlite;
using static FitService.Api.Storage.SqliteDatabase;
using static FitService.Api.Storage.WebhookEventRows;

namespace FitService.Api.Storage;

/// <summary>Webhook events and attempts in the embedded SQLite file, beside the fits, through the same one writer.</summary>
public sealed class SqliteDeliveryStore : IDeliveryStore
{
    private readonly SqliteDatabase _db;

    public SqliteDeliveryStore(SqliteDatabase db) => _db = db;

    /// <summary>The delivery tables are part of the file's one schema (<see cref="SqliteSchema"/>), which either store brings up to date.</summary>
    public Task InitializeAsync(CancellationToken ct) => SqliteSchema.MigrateAsync(_db, ct);

    public Task<WebhookEvent> CreateEventAsync(NewWebhookEvent e, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        await ExecAsync(conn, tx, """
            INSERT INTO webhook_events (id, fit_id, tenant, url, type, payload, created_at, state, next_attempt_at)
            VALUES ($id, $fit, $t, $url, $type, $payload, $created, 0, $created)
            ON CONFLICT DO NOTHING
            """, ct, ("$id", e.Id), ("$fit", e.FitId), ("$t", e.Tenant), ("$url", e.Url), ("$type", e.Type),
            ("$payload", e.Payload), ("$created", e.CreatedAt.ToUnixTimeMilliseconds()));
        return (await QueryEventAsync(conn, tx, "fit_id = $v", e.FitId, ct))!;
    }, ct);

    public Task<AttemptClaim?> CreateClaimedEventAsync(NewWebhookEvent e, DateTimeOffset claimUntil, CancellationToken ct) => WriteAsync<AttemptClaim?>(async (conn, tx) =>
    {
        // The one writer makes the check and the insert one step: a fit deleted before it gets no event.
        var inserted = await ExecAsync(conn, tx, """
            INSERT INTO webhook_events (id, fit_id, tenant, url, type, payload, created_at, state, next_attempt_at, attempts, claimed_until)
            SELECT $id, $fit, $t, $url, $type, $payload, $created, 0, $created, 1, $until WHERE EXISTS (SELECT 1 FROM fits WHERE id = $fit)
            ON CONFLICT DO NOTHING
            """, ct, ("$id", e.Id), ("$fit", e.FitId), ("$t", e.Tenant), ("$url", e.Url), ("$type", e.Type),
            ("$payload", e.Payload), ("$created", e.CreatedAt.ToUnixTimeMilliseconds()), ("$until", claimUntil.ToUnixTimeMilliseconds()));
        return inserted == 0 ? null : new AttemptClaim((await QueryEventAsync(conn, tx, "id = $v", e.Id, ct))!, 1, 1);
    }, ct);

    public async Task<WebhookEvent?> GetEventAsync(string eventId, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        return await QueryEventAsync(conn, null, "id = $v", eventId, ct);
    }

    public async Task<WebhookEvent?> GetEventForFitAsync(string fitId, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        return await QueryEventAsync(conn, null, "fit_id = $v", fitId, ct);
    }

    public async Task<IReadOnlyList<DeliveryAttempt>> ListAttemptsAsync(string eventId, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null,
            "SELECT attempt, started_at, duration_ms, status_code, error FROM webhook_attempts WHERE event_id = $id ORDER BY attempt", ("$id", eventId));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<DeliveryAttempt>();
        while (await r.ReadAsync(ct))
        {
            list.Add(new DeliveryAttempt(r.GetInt32(0), Time(r, 1), TimeSpan.FromMilliseconds(r.GetInt64(2)),
                r.IsDBNull(3) ? null : r.GetInt32(3), r.IsDBNull(4) ? null : r.GetString(4)));
        }
        return list;
    }

    public Task<AttemptClaim?> TryClaimAsync(string eventId, DateTimeOffset now, DateTimeOffset dueBy, DateTimeOffset claimUntil, CancellationToken ct) =>
        WriteAsync(async (conn, tx) =>
    {
        var changed = await ExecAsync(conn, tx, """
            UPDATE webhook_events SET attempts = attempts + 1, claimed_until = $until
            WHERE id = $id AND state = 0 AND next_attempt_at <= $due AND (claimed_until IS NULL OR claimed_until <= $now)
            """, ct, ("$id", eventId), ("$now", now.ToUnixTimeMilliseconds()), ("$due", dueBy.ToUnixTimeMilliseconds()),
            ("$until", claimUntil.ToUnixTimeMilliseconds()));
        if (changed == 0) return null;
        var e = (await QueryEventAsync(conn, tx, "id = $v", eventId, ct))!;
        return new AttemptClaim(e, e.Attempts, e.Attempts - e.RoundStart);
    }, ct);

    public Task RecordAttemptAsync(string eventId, DeliveryAttempt attempt, DeliveryState nextState, DateTimeOffset? nextAttemptAt, CancellationToken ct) =>
        WriteAsync(async (conn, tx) =>
        {
            await ExecAsync(conn, tx, """
                INSERT OR REPLACE INTO webhook_attempts (event_id, attempt, started_at, duration_ms, status_code, error)
                SELECT $id, $n, $at, $ms, $code, $error WHERE EXISTS (SELECT 1 FROM webhook_events WHERE id = $id);
                UPDATE webhook_events SET state = $state, next_attempt_at = $next, claimed_until = NULL WHERE id = $id AND attempts = $n;
                """, ct, ("$id", eventId), ("$n", attempt.Attempt), ("$at", attempt.StartedAt.ToUnixTimeMilliseconds()),
                ("$ms", (long)attempt.Duration.TotalMilliseconds), ("$code", attempt.StatusCode), ("$error", attempt.Error),
                ("$state", (int)nextState), ("$next", nextAttemptAt?.ToUnixTimeMilliseconds()));
            return 0;
        }, ct);

    public Task<bool> RedeliverAsync(string eventId, DateTimeOffset now, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        var ms = now.ToUnixTimeMilliseconds();
        var changed = await ExecAsync(conn, tx, """
            UPDATE webhook_events SET state = 0, round_start = attempts, next_attempt_at = $now
            WHERE id = $id AND (claimed_until IS NULL OR claimed_until <= $now)
            """, ct, ("$id", eventId), ("$now", ms));
        return changed == 1;
    }, ct);

    public Task DeleteEventAsync(string eventId, CancellationToken ct) => WriteAsync(async (conn, tx) =>
    {
        await ExecAsync(conn, tx, "DELETE FROM webhook_attempts WHERE event_id = $id; DELETE FROM webhook_events WHERE id = $id;", ct, ("$id", eventId));
        return 0;
    }, ct);

    public async Task<IReadOnlyList<(string EventId, DateTimeOffset DueAt)>> ListPendingAsync(DateTimeOffset? dueBefore, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, """
            SELECT id, due FROM (
                SELECT id, MAX(next_attempt_at, COALESCE(claimed_until, 0)) AS due FROM webhook_events WHERE state = 0)
            WHERE $before IS NULL OR due < $before
            ORDER BY due, id
            """, ("$before", dueBefore?.ToUnixTimeMilliseconds()));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<(string, DateTimeOffset)>();
        while (await r.ReadAsync(ct)) list.Add((r.GetString(0), Time(r, 1)));
        return list;
    }

    public async Task<IReadOnlyList<string>> ListEndedFitsWithoutEventAsync(DateTimeOffset? finishedSince, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        await using var cmd = Command(conn, null, """
            SELECT f.id FROM fits f
            WHERE f.finished_at IS NOT NULL AND f.status >= 2 AND ($since IS NULL OR f.finished_at >= $since)
              AND json_extract(f.request, '$.webhook.url') IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.fit_id = f.id)
            ORDER BY f.finished_at
            """, ("$since", finishedSince?.ToUnixTimeMilliseconds()));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var ids = new List<string>();
        while (await r.ReadAsync(ct)) ids.Add(r.GetString(0));
        return ids;
    }

    public async Task<IReadOnlyList<(string BatchId, string Tenant)>> ListCompletedBatchesWithoutEventAsync(DateTimeOffset? finishedSince, CancellationToken ct)
    {
        await using var conn = await OpenReaderAsync(ct);
        // A sweep starts from the fits that ended lately (ix_fits_finished), not from every batch ever submitted; only the
        // pass at start reads them all. A batch's event carries the batch id where a fit's carries the fit id.
        var recent = finishedSince is null ? "" : "b.id IN (SELECT f.batch_id FROM fits f WHERE f.finished_at >= $since AND f.batch_id IS NOT NULL) AND";
        await using var cmd = Command(conn, null, $"""
            SELECT b.id, b.tenant FROM batches b
            WHERE {recent} json_extract(b.request, '$.webhook.url') IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.fit_id = b.id)
              AND NOT EXISTS (SELECT 1 FROM fits f INDEXED BY ix_fits_batch_open WHERE f.batch_id = b.id AND f.finished_at IS NULL)
            ORDER BY b.created_at
            """, ("$since", finishedSince?.ToUnixTimeMilliseconds()));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var batches = new List<(string, string)>();
        while (await r.ReadAsync(ct)) batches.Add((r.GetString(0), r.GetString(1)));
        return batches;
    }

    private Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken ct) => _db.WriteAsync(work, ct);

    private Task<SqliteConnection> OpenReaderAsync(CancellationToken ct) => _db.OpenReaderAsync(ct);

    private static async Task<WebhookEvent?> QueryEventAsync(SqliteConnection conn, SqliteTransaction? tx, string where, string value, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, $"SELECT {Columns} FROM webhook_events WHERE {where}", ("$v", value));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? Read(r, Time) : null;
    }
}
