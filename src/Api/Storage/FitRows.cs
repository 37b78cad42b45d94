using System.Data.Common;

namespace FitService.Api.Storage;

/// <summary>
/// The one reading of the fits table for both stores: the columns every query of a whole fit selects, in order, and
/// the mapping of such a row (and of fit_points' x, y, w) to records. The stores differ only in how a time is kept
/// (SQLite: Unix milliseconds; PostgreSQL: timestamptz), which each passes in (<c>time</c>).
/// </summary>
internal static class FitRows
{
    public const string Columns = Leading + "outcome, trace_parent";

    /// <summary>
    /// <see cref="Columns"/> as the embedded store reads them: a fit's outcome is kept in <c>fit_outcomes</c> (SQLite
    /// schema 12), or in its row for a fit that ended before it or was stored once, ended.
    /// </summary>
    public const string SqliteColumns = Leading + "COALESCE((SELECT o.outcome FROM fit_outcomes o WHERE o.fit_id = fits.id), fits.outcome), trace_parent";

    private const string Leading =
        "seq, id, tenant, status, stop_reason, step, steps, params, loss, history_every, created_at, started_at, " +
        "finished_at, error, request, label, points, cancel_requested, batch_id, request_hash, attempt, kind, ";

    /// <summary>
    /// The listing of <see cref="IFitReader.ListAsync"/>: a tenant's fits (never finder runs) that pass the filters the
    /// query sets, newest first. Parameters <c>t</c>, <c>limit</c> and those of the filters set (<c>status</c>, <c>label</c>,
    /// <c>batch</c>, <c>before</c>), named with the store's <paramref name="prefix"/>.
    /// </summary>
    public static string ListSql(FitQuery query, char prefix, string columns = Columns) =>
        $"SELECT {columns} FROM fits WHERE tenant = {prefix}t AND kind = 'fit'"
        + (query.Status is null ? "" : $" AND status = {prefix}status")
        + (query.Label is null ? "" : $" AND label = {prefix}label")
        + (query.BatchId is null ? "" : $" AND batch_id = {prefix}batch")
        + (query.BeforeSeq is null ? "" : $" AND seq < {prefix}before")
        + $" ORDER BY seq DESC LIMIT {prefix}limit";

    /// <summary>A row that starts with <see cref="Columns"/> (more columns may follow).</summary>
    public static FitRecord Read(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> time) => new()
    {
        Seq = r.GetInt64(0),
        Id = r.GetString(1),
        Tenant = r.GetString(2),
        Status = (FitStatus)r.GetInt32(3),
        StopReason = Text(r, 4),
        Step = r.GetInt32(5),
        Steps = r.GetInt32(6),
        Params = Doubles(r, 7),
        Loss = r.IsDBNull(8) ? null : r.GetDouble(8),
        HistoryEvery = r.GetInt32(9),
        CreatedAt = time(r, 10),
        StartedAt = r.IsDBNull(11) ? null : time(r, 11),
        FinishedAt = r.IsDBNull(12) ? null : time(r, 12),
        Error = Text(r, 13),
        RequestJson = r.GetString(14),
        Label = Text(r, 15),
        Points = r.GetInt32(16),
        // SQLite keeps it as 0/1, PostgreSQL as boolean: both readers answer GetBoolean.
        CancelRequested = r.GetBoolean(17),
        BatchId = Text(r, 18),
        RequestHash = r.GetString(19),
        Attempt = r.GetInt32(20),
        Kind = r.GetString(21),
        OutcomeJson = Text(r, 22),
        TraceParent = Text(r, 23),
    };

    /// <summary>Every fit <paramref name="query"/> returns (it selects <see cref="Columns"/> first), in its order.</summary>
    public static async Task<IReadOnlyList<FitRecord>> ReadAllAsync(DbCommand query, Func<DbDataReader, int, DateTimeOffset> time, CancellationToken ct)
    {
        var list = new List<FitRecord>();
        await using var reader = await query.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) list.Add(Read(reader, time));
        return list;
    }

    /// <summary>The columns x, y, w of fit_points from <paramref name="first"/> on (w NULL: a fit stored without weights).</summary>
    public static FitPoints ReadPoints(DbDataReader r, int first) =>
        new(Doubles(r, first)!, Doubles(r, first + 1)!, Doubles(r, first + 2));

    /// <summary>A loss as stored: NaN and ±∞ (a diverged fit) are kept as NULL.</summary>
    public static object? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;

    private static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static double[]? Doubles(DbDataReader r, int i) => r.IsDBNull(i) ? null : DoubleBlobs.FromBytes(r.GetFieldValue<byte[]>(i));
}
