using System.Data;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Storage;

/// <summary>
/// The one embedded SQLite file that the fit store and the delivery store share. It owns the file's only writer
/// connection: SQLite lets one writer in at a time, and taking turns on a lock here is far faster than two
/// connections retrying on SQLITE_BUSY (whose back-off sleeps for milliseconds). Readers use pooled connections,
/// which WAL lets run beside the writer.
/// </summary>
public sealed class SqliteDatabase : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private SqliteConnection? _writer;

    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string.</param>
    /// <param name="contentRoot">Where a relative file path is resolved; the file's folder is created.</param>
    public SqliteDatabase(string connectionString, string contentRoot)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (!System.IO.Path.IsPathRooted(builder.DataSource) && builder.DataSource != ":memory:")
        {
            builder.DataSource = System.IO.Path.GetFullPath(System.IO.Path.Combine(contentRoot, builder.DataSource));
        }
        var folder = System.IO.Path.GetDirectoryName(builder.DataSource);
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        builder.Pooling = true;
        // How long a write waits for another process's lock (SQLITE_BUSY) before it fails (then 503); "Default Timeout" in the connection string overrides.
        if (!new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.ContainsKey("Default Timeout")) builder.DefaultTimeout = 30;
        _connectionString = builder.ToString();
        Path = builder.DataSource;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Runs <paramref name="work"/> in a transaction on the writer connection, one caller at a time.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            if (_writer is null)
            {
                var conn = new SqliteConnection(_connectionString);
                await conn.OpenAsync(ct);
                // busy_timeout still matters when another process (a backup, sqlite3) holds the file.
                await ExecAsync(conn, null, $"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = {conn.DefaultTimeout * 1000};", ct);
                _writer = conn;
            }
            await using var tx = (SqliteTransaction)await _writer.BeginTransactionAsync(IsolationLevel.Serializable, ct);
            var result = await work(_writer, tx);
            await tx.CommitAsync(CancellationToken.None);
            return result;
        }
        catch (SqliteException)
        {
            // A broken connection (file replaced, disk error) is reopened on the next write.
            if (_writer is not null) { await _writer.DisposeAsync(); _writer = null; }
            throw;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>A pooled connection for reading.</summary>
    public async Task<SqliteConnection> OpenReaderAsync(CancellationToken ct)
    {
        var conn = new SqliteConnection(_connectionString);
        await conn.OpenAsync(ct);
        return conn;
    }

    public static SqliteCommand Command(SqliteConnection conn, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    public static async Task<int> ExecAsync(SqliteConnection conn, SqliteTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(conn, tx, sql, args);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null) await _writer.DisposeAsync();
        _writeLock.Dispose();
    }
}
