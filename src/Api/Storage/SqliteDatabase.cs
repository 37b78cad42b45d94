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
    private readonly string _unpooledConnectionString;
    private readonly int _pooledReaders;
    private int _pooledOpen;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private SqliteConnection? _writer;

    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string.</param>
    /// <param name="contentRoot">Where a relative file path is resolved; the file's folder is created.</param>
    /// <param name="memoryMegabytes">SQLite's soft heap limit for the process (<c>Storage:SqliteMemoryMegabytes</c>); 0 leaves it as it is.</param>
    /// <param name="pooledReaders">Reader connections the pool keeps at most (<c>Storage:SqlitePooledReaders</c>); 0: as many as were ever open at once.</param>
    /// <param name="logMegabytes">The write-ahead log's length at which the writer starts it over (<c>Storage:SqliteLogMegabytes</c>; see <see cref="WalCheckpointer"/>).</param>
    public SqliteDatabase(string connectionString, string contentRoot, int memoryMegabytes = 0, int pooledReaders = 0,
        int logMegabytes = WalCheckpointer.DefaultLogMegabytes)
    {
        _pooledReaders = pooledReaders;
        if (memoryMegabytes > 0) LimitMemory(memoryMegabytes * 1048576L);
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (!System.IO.Path.IsPathRooted(builder.DataSource) && builder.DataSource != ":memory:")
        {
            builder.DataSource = System.IO.Path.GetFullPath(System.IO.Path.Combine(contentRoot, builder.DataSource));
        }
        var folder = System.IO.Path.GetDirectoryName(builder.DataSource);
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        builder.Pooling = true;
        // How long a write may wait, from the moment it is asked for, for another process's lock (SQLITE_BUSY) before it
        // fails (then 503); "Default Timeout" in the connection string overrides.
        if (!new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.ContainsKey("Default Timeout")) builder.DefaultTimeout = DefaultBusyTimeoutSeconds;
        _connectionString = builder.ToString();
        builder.Pooling = false;
        _unpooledConnectionString = builder.ToString();
        Path = builder.DataSource;
        Checkpointer = new WalCheckpointer(_unpooledConnectionString, logMegabytes);
        BusyTimeout = TimeSpan.FromSeconds(builder.DefaultTimeout);
    }

    /// <summary>
    /// Sets SQLite's soft heap limit, which is the process's (every connection to every file). Pooled readers each keep a page
    /// cache of up to 2 MB, and the pool keeps as many as were ever busy at once: tens of them under load, each cache
    /// filling as the file grows. Over the limit, SQLite reuses its least recently used cached pages instead of allocating;
    /// a page it dropped is read again from the operating system's cache of the file.
    /// </summary>
    public static void LimitMemory(long bytes)
    {
        // SQLitePCL's provider is set up by SqliteConnection's type initializer.
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(SqliteConnection).TypeHandle);
        SQLitePCL.raw.sqlite3_soft_heap_limit64(bytes);
    }

    /// <summary>SQLite's soft heap limit in this process, in bytes (0: none).</summary>
    public static long MemoryLimit
    {
        get
        {
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(SqliteConnection).TypeHandle);
            return SQLitePCL.raw.sqlite3_soft_heap_limit64(-1);
        }
    }

    /// <summary>The busy timeout when the connection string names none (its <c>Default Timeout</c>).</summary>
    public const int DefaultBusyTimeoutSeconds = 5;

    /// <summary>Longest a write waits for the file's lock, counted from when it was asked for (queueing behind other writes included).</summary>
    public TimeSpan BusyTimeout { get; }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Copies the writer's commits from the log into the file, beside the writer.</summary>
    internal WalCheckpointer Checkpointer { get; }

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
        var write = new Write<T>(work, Environment.TickCount64 + (long)BusyTimeout.TotalMilliseconds);
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
        var now = Environment.TickCount64;
        while (group.Count < MaxGroup && _pending.TryDequeue(out var next))
        {
            // A write that waited its whole busy timeout behind others fails now rather than wait again (a held lock
            // would otherwise cost each queued group a full timeout in turn).
            if (next.Deadline <= now) next.Fail(LockedFor(BusyTimeout));
            else group.Add(next);
        }
        if (group.Count == 0) return;
        try
        {
            await RunAsync(group, group.Min(w => w.Deadline) - now);
            foreach (var write in group) write.Commit();
        }
        catch (Exception e) when (IsDatabaseWide(e))
        {
            // The lock, a full disk or a corrupt file fails every write alike: running them one by one would only wait again.
            foreach (var write in group) write.Fail(e);
        }
        catch (Exception) when (group.Count > 1)
        {
            foreach (var write in group)
            {
                try
                {
                    await RunAsync([write], write.Deadline - Environment.TickCount64);
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

    private async Task RunAsync(IReadOnlyList<IWrite> writes, long waitMilliseconds)
    {
        if (waitMilliseconds <= 0) throw LockedFor(BusyTimeout);
        try
        {
            if (_writer is null)
            {
                // Not pooled: its WAL hook (WalCheckpointer) must not outlive it in a pooled connection.
                var conn = new SqliteConnection(_unpooledConnectionString);
                await conn.OpenAsync();
                await UseIncrementalVacuumAsync(conn);
                await ExecAsync(conn, null, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", CancellationToken.None);
                await Checkpointer.AttachAsync(conn);
                _writer = conn;
            }
            // Wait for another process's lock (a backup, sqlite3) only as long as the group's oldest write has left.
            // SQLite's busy_timeout waits inside one step; Microsoft.Data.Sqlite retries a busy step until the
            // command timeout (whole seconds), so both are set to what is left.
            _writer.DefaultTimeout = (int)Math.Max(1, (waitMilliseconds + 999) / 1000);
            await ExecAsync(_writer, null, $"PRAGMA busy_timeout = {waitMilliseconds};", CancellationToken.None);
            await using var tx = (SqliteTransaction)await _writer.BeginTransactionAsync(IsolationLevel.Serializable);
            foreach (var write in writes) await write.RunAsync(_writer, tx);
            await tx.CommitAsync(CancellationToken.None);
            Checkpointer.Committed();
            if (Checkpointer.LogIsFull) await Checkpointer.CheckpointOnWriterAsync(_writer);
        }
        catch (SqliteException)
        {
            // A broken connection (file replaced, disk error) is reopened on the next write.
            if (_writer is not null) { await _writer.DisposeAsync(); _writer = null; }
            throw;
        }
    }

    /// <summary>
    /// Pages freed by deletes (retention) go back to the file system, a few at a time (<c>PRAGMA incremental_vacuum</c>
    /// after each retention batch), rather than staying in the file as free pages. SQLite takes the mode only before
    /// the first table exists or through a VACUUM: a new file gets it at once; a file made before this gets one
    /// VACUUM, once, when the service opens it (a pause as long as copying the file).
    /// </summary>
    private static async Task UseIncrementalVacuumAsync(SqliteConnection conn)
    {
        await using var mode = Command(conn, null, "PRAGMA auto_vacuum");
        if (Convert.ToInt64(await mode.ExecuteScalarAsync()) == IncrementalVacuum) return;
        await ExecAsync(conn, null, "PRAGMA auto_vacuum = INCREMENTAL", CancellationToken.None);
        await using var tables = Command(conn, null, "SELECT COUNT(*) FROM sqlite_master");
        if (Convert.ToInt64(await tables.ExecuteScalarAsync()) > 0) await ExecAsync(conn, null, "VACUUM", CancellationToken.None);
    }

    private const long IncrementalVacuum = 2;

    private const int SqliteBusy = 5, SqliteLocked = 6, SqliteIoErr = 10, SqliteCorrupt = 11, SqliteFull = 13, SqliteNotADatabase = 26;

    private static bool IsDatabaseWide(Exception e) =>
        e is SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked or SqliteIoErr or SqliteCorrupt or SqliteFull or SqliteNotADatabase };

    private static SqliteException LockedFor(TimeSpan timeout) =>
        new($"database is locked: another process held the write lock for the whole busy timeout ({timeout.TotalSeconds:0.#} s)", SqliteBusy);

    private interface IWrite
    {
        long Deadline { get; }
        Task RunAsync(SqliteConnection conn, SqliteTransaction tx);
        void Commit();
        void Fail(Exception e);
    }

    /// <summary>One caller's write: its result is handed over only once its transaction has committed.</summary>
    private sealed class Write<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, long deadline) : IWrite
    {
        public long Deadline => deadline;

        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Done => _done.Task;

        public async Task RunAsync(SqliteConnection conn, SqliteTransaction tx) => _result = await work(conn, tx);

        public void Commit() => _done.TrySetResult(_result);

        public void Fail(Exception e) => _done.TrySetException(e);
    }

    /// <summary>
    /// A connection for reading: a pooled one while fewer than <see cref="PooledReaders"/> pooled readers are open, else one
    /// of its own, closed for good when disposed. Microsoft.Data.Sqlite's pool keeps every connection it ever opened, as
    /// many as the peak of concurrent reads (tens of them when a busy machine stalls the service and requests pile up), each
    /// with its own native memory (schema, lookaside, statements): the process grew with every new peak. Nothing waits
    /// here, so no reader can block another; a read beyond the pool only pays an open (and SQLite's schema read).
    /// </summary>
    public async Task<SqliteConnection> OpenReaderAsync(CancellationToken ct)
    {
        if (_pooledReaders <= 0) return await OpenAsync(new SqliteConnection(_connectionString), ct);
        if (Interlocked.Increment(ref _pooledOpen) > _pooledReaders)
        {
            Interlocked.Decrement(ref _pooledOpen);
            return await OpenAsync(new SqliteConnection(_unpooledConnectionString), ct);
        }
        var conn = new SqliteConnection(_connectionString);
        var counted = 1;
        void Release()
        {
            if (Interlocked.Exchange(ref counted, 0) == 1) Interlocked.Decrement(ref _pooledOpen);
        }
        conn.StateChange += (_, e) =>
        {
            if (e.CurrentState == ConnectionState.Closed) Release();
        };
        try
        {
            return await OpenAsync(conn, ct);
        }
        catch
        {
            Release();
            throw;
        }

        static async Task<SqliteConnection> OpenAsync(SqliteConnection conn, CancellationToken ct)
        {
            try
            {
                await conn.OpenAsync(ct);
                return conn;
            }
            catch
            {
                await conn.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Reader connections the pool keeps at most; 0: no bound.</summary>
    public int PooledReaders => _pooledReaders;

    /// <summary>Pooled reader connections open now (handed out by <see cref="OpenReaderAsync"/> and not yet closed).</summary>
    internal int PooledReadersOpen => Volatile.Read(ref _pooledOpen);

    /// <summary>The outcome of an integrity check: the problems SQLite reported, or that it ran out of time.</summary>
    public sealed record Integrity(bool Completed, IReadOnlyList<string> Problems)
    {
        public bool IsOk => Problems.Count == 0;
    }

    /// <summary>
    /// <c>PRAGMA quick_check</c> (every page and index structure, not index contents), interrupted after
    /// <paramref name="budget"/> so a huge file cannot hold up the start. SQLITE_CORRUPT or SQLITE_NOTADB thrown by the
    /// check itself reach the caller.
    /// </summary>
    public async Task<Integrity> QuickCheckAsync(TimeSpan budget, CancellationToken ct)
    {
        await using var conn = new SqliteConnection(_connectionString);
        await conn.OpenAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(budget);
        await using var interrupt = timeout.Token.Register(() => SQLitePCL.raw.sqlite3_interrupt(conn.Handle));
        try
        {
            var problems = new List<string>();
            await using var cmd = Command(conn, null, "PRAGMA quick_check(20)");
            await using var reader = await cmd.ExecuteReaderAsync(CancellationToken.None);
            while (await reader.ReadAsync(CancellationToken.None))
            {
                var line = reader.GetString(0);
                if (line != "ok") problems.Add(line);
            }
            return new Integrity(true, problems);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteInterrupt && timeout.IsCancellationRequested)
        {
            ct.ThrowIfCancellationRequested();
            return new Integrity(false, []);
        }
    }

    private const int SqliteInterrupt = 9;

    /// <summary>A time as the SQLite stores keep it: Unix milliseconds in an INTEGER column.</summary>
    public static DateTimeOffset Time(System.Data.Common.DbDataReader reader, int column) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(column));

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
        await Checkpointer.DisposeAsync();
        _writeLock.Dispose();
    }
}
