using System.Data;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Storage;

/// <summary>
/// The one embedded SQLite file that the fit store and the delivery store share. It owns the file's only writer
/// connection: SQLite lets one writer in at a time, and taking turns here (committing the writes that queued up
/// together) is far faster than two connections retrying on SQLITE_BUSY, whose back-off sleeps for milliseconds.
/// Readers use pooled connections, which WAL lets run beside the writer.
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

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction on the writer connection and returns once it is committed.
    /// Group commit: writes that arrive while another commits wait for it, then the next caller to take the lock runs
    /// all of them in one transaction (a commit costs ~100 µs of disk here; one per fit would cap the service far
    /// below what the engine does). If one of them fails, the group is rolled back and each is run alone, so a bad
    /// write fails only its own caller.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var write = new Write<T>(work);
        _pending.Enqueue(write);
        while (!write.Done.IsCompleted)
        {
            // Not cancellable once queued: a leader may already be running this write, and its caller must hear how it went.
            await _writeLock.WaitAsync(CancellationToken.None);
            try
            {
                if (!write.Done.IsCompleted) await CommitPendingAsync();
            }
            finally
            {
                _writeLock.Release();
            }
        }
        return await write.Done;
    }

    /// <summary>Most writes one transaction takes: enough to share a commit widely, few enough to keep its latency short.</summary>
    private const int MaxGroup = 256;

    private readonly System.Collections.Concurrent.ConcurrentQueue<IWrite> _pending = new();

    private async Task CommitPendingAsync()
    {
        var group = new List<IWrite>();
        while (group.Count < MaxGroup && _pending.TryDequeue(out var next)) group.Add(next);
        if (group.Count == 0) return;
        try
        {
            await RunAsync(group);
            foreach (var write in group) write.Commit();
        }
        catch (Exception) when (group.Count > 1)
        {
            foreach (var write in group)
            {
                try
                {
                    await RunAsync([write]);
                    write.Commit();
                }
                catch (Exception e)
                {
                    write.Fail(e);
                }
            }
        }
        catch (Exception e)
        {
            group[0].Fail(e);
        }
    }

    private async Task RunAsync(IReadOnlyList<IWrite> writes)
    {
        try
        {
            if (_writer is null)
            {
                var conn = new SqliteConnection(_connectionString);
                await conn.OpenAsync();
                // busy_timeout still matters when another process (a backup, sqlite3) holds the file.
                await ExecAsync(conn, null, $"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = {conn.DefaultTimeout * 1000};", CancellationToken.None);
                _writer = conn;
            }
            await using var tx = (SqliteTransaction)await _writer.BeginTransactionAsync(IsolationLevel.Serializable);
            foreach (var write in writes) await write.RunAsync(_writer, tx);
            await tx.CommitAsync(CancellationToken.None);
        }
        catch (SqliteException)
        {
            // A broken connection (file replaced, disk error) is reopened on the next write.
            if (_writer is not null) { await _writer.DisposeAsync(); _writer = null; }
            throw;
        }
    }

    private interface IWrite
    {
        Task RunAsync(SqliteConnection conn, SqliteTransaction tx);
        void Commit();
        void Fail(Exception e);
    }

    /// <summary>One caller's write: its result is handed over only once its transaction has committed.</summary>
    private sealed class Write<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work) : IWrite
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Done => _done.Task;

        public async Task RunAsync(SqliteConnection conn, SqliteTransaction tx) => _result = await work(conn, tx);

        public void Commit() => _done.TrySetResult(_result);

        public void Fail(Exception e) => _done.TrySetException(e);
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
