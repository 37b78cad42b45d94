using Npgsql;

namespace FitService.Api.Storage;

/// <summary>What the PostgreSQL stores share: commands with parameters, and append-only migrations applied in turn.</summary>
public static class PostgresSchema
{
    /// <summary>Serialises schema changes of every store and process sharing a database (an arbitrary constant: "FitSrvc1").</summary>
    public const long SchemaLockKey = 0x4669745372766331;

    /// <summary>Statements a store's connection keeps prepared (see <see cref="DataSourceBuilder"/>); the stores use a few dozen shapes.</summary>
    public const int AutoPrepared = 64;

    /// <summary>
    /// A store's pool: its statements repeat (a few dozen shapes, thousands of times a second under load), so each
    /// connection prepares those it runs often (Npgsql's auto-prepare) and PostgreSQL parses and plans them once rather than
    /// per call; and a connection going back to the pool is not reset (no <c>DISCARD ALL</c>, which would also drop the
    /// prepared statements): the stores keep no session state, only transaction-scoped locks. A connection string's own
    /// <c>Max Auto Prepare</c> is kept.
    /// </summary>
    public static NpgsqlDataSourceBuilder DataSourceBuilder(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0) builder.ConnectionStringBuilder.MaxAutoPrepare = AutoPrepared;
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        return builder;
    }

    /// <summary>
    /// Applies the migrations <paramref name="versionTable"/> has not seen yet, under the advisory lock: CREATE … IF NOT
    /// EXISTS alone races between processes (duplicate key in pg_type), so they take turns. Run inside a transaction.
    /// </summary>
    public static async Task MigrateAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string versionTable, IReadOnlyList<string> migrations, CancellationToken ct)
    {
        await ExecAsync(conn, tx, "SELECT pg_advisory_xact_lock(@key)", ct, ("key", SchemaLockKey));
        await ExecAsync(conn, tx, $"""
            CREATE TABLE IF NOT EXISTS {versionTable} (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, ct);
        await using var current = Command(conn, tx, $"SELECT COALESCE(MAX(version), 0) FROM {versionTable}");
        var version = Convert.ToInt32(await current.ExecuteScalarAsync(ct));
        for (var next = version + 1; next <= migrations.Count; next++)
        {
            await ExecAsync(conn, tx, migrations[next - 1], ct);
            await ExecAsync(conn, tx, $"INSERT INTO {versionTable} (version) VALUES (@v)", ct, ("v", next));
        }
    }

    /// <summary>
    /// Runs <paramref name="migrations"/> on <paramref name="dataSource"/> in one transaction (see the overload on a connection):
    /// each store's InitializeAsync.
    /// </summary>
    public static Task MigrateAsync(NpgsqlDataSource dataSource, string versionTable, IReadOnlyList<string> migrations, CancellationToken ct) =>
        InTransactionAsync(dataSource, async (conn, tx) =>
        {
            await MigrateAsync(conn, tx, versionTable, migrations, ct);
            return 0;
        }, ct);

    /// <summary>Runs <paramref name="work"/> in a read-committed transaction and commits it.</summary>
    public static async Task<T> InTransactionAsync<T>(NpgsqlDataSource dataSource, Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, ct);
        var result = await work(conn, tx);
        await tx.CommitAsync(CancellationToken.None);
        return result;
    }

    /// <summary>
    /// A time as the PostgreSQL stores write it: to the millisecond, as the API shows it and as the SQLite stores keep it,
    /// and in UTC (Npgsql writes only UTC to timestamptz).
    /// </summary>
    public static DateTimeOffset Utc(DateTimeOffset time) => DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());

    /// <summary>A timestamptz column as the stores read it.</summary>
    public static DateTimeOffset Time(System.Data.Common.DbDataReader reader, int column) => reader.GetFieldValue<DateTimeOffset>(column);

    public static NpgsqlCommand Command(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = new NpgsqlCommand(sql, conn, tx);
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    public static async Task<int> ExecAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(conn, tx, sql, args);
        return await cmd.ExecuteNonQueryAsync(ct);
    }
}
