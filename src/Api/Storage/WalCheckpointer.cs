using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Storage;

/// <summary>
/// Copies committed pages from the write-ahead log into the database file on a thread and connection of its own, after
/// the writer's commits, so that the writer mostly does not. SQLite's automatic checkpoint runs inside the commit that
/// pushed the log past its threshold (1,000 pages): the writer, and every write queued behind it, waited while it read
/// the whole log back and wrote the file. A passive checkpoint takes no lock a writer or reader needs, so both go on.
/// </summary>
/// <remarks>
/// It runs each time the log has grown by <see cref="CopyPages"/>; commits that arrive while a checkpoint runs are
/// covered by the next one (one signal is kept, the rest dropped). The log goes back to its start only when a write
/// begins after a checkpoint copied all of it, which beside a busy writer seldom happens by itself. So the writer's
/// connection reports the log's length after each commit (SQLite's WAL hook, which replaces its automatic checkpoint),
/// and once the log holds <see cref="LogPages"/> the writer checkpoints after its commit
/// (<see cref="CheckpointOnWriterAsync"/>), as SQLite's own would, but only the pages not yet copied, and never at the
/// same time as this thread; its next write starts the log over, and the file is cut back to that size. The log is
/// thus bounded by the writer alone, whether this thread keeps up or not (a failed checkpoint here is retried with the
/// next signal, on a new connection). A longer log than SQLite's default means fewer of the writer's own checkpoints:
/// <c>Storage:SqliteLogMegabytes</c>.
/// </remarks>
internal sealed class WalCheckpointer : IAsyncDisposable
{
    /// <summary>The log's length, in MB, at which the writer starts it over, unless configured.</summary>
    public const int DefaultLogMegabytes = 40;

    private readonly string _connectionString;
    // Set by a commit that grew the log by CopyPages, reset by the thread as it starts a copy. It does not spin before it
    // sleeps (SemaphoreSlim spins and yields each time it waits): a copy starts hundreds of times a second in a batch, and
    // on two cores the spinning was 1 % of the service's CPU.
    private readonly ManualResetEventSlim _signal = new(false, spinCount: 0);
    // One checkpoint at a time in this process: this thread's or the writer's.
    private readonly SemaphoreSlim _checkpointing = new(1, 1);
    private readonly Lazy<Thread> _thread;
    private readonly long _logBytes;
    private GCHandle _self;
    private volatile bool _stopping;
    private int _logFrames;
    private long _commitsSeen;
    private long _checkpointedThrough;
    private long _failures;
    private long _onWriter;
    private long _copies;
    private int _framesAtSignal;

    /// <param name="connectionString">An unpooled connection string to the database file.</param>
    /// <param name="logMegabytes">The log's length at which the writer starts it over.</param>
    public WalCheckpointer(string connectionString, int logMegabytes = DefaultLogMegabytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(logMegabytes, 1, "Storage:SqliteLogMegabytes");
        _connectionString = connectionString;
        _logBytes = logMegabytes * 1048576L;
        // Its own thread: a checkpoint blocks in reads, writes and fsync, which would hold one of the thread pool's few threads.
        _thread = new Lazy<Thread>(() =>
        {
            var thread = new Thread(Run) { IsBackground = true, Name = "SQLite checkpoint" };
            thread.Start();
            return thread;
        });
    }

    /// <summary>Pages of the log at which the writer starts it over (set when the writer opens, from the file's page size).</summary>
    public int LogPages { get; private set; } = 1_000;

    /// <summary>Commits the writer has told of.</summary>
    public long Commits => Interlocked.Read(ref _commitsSeen);

    /// <summary>The number of commits that had been told of when the last checkpoint that copied the whole log began.</summary>
    public long CheckpointedThrough => Interlocked.Read(ref _checkpointedThrough);

    /// <summary>Failed checkpoints (the thread's are retried with its next signal, the writer's after its next commit).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Checkpoints the writer ran (<see cref="CheckpointOnWriterAsync"/>).</summary>
    public long OnWriter => Interlocked.Read(ref _onWriter);

    /// <summary>Pages in the log after the writer's last commit.</summary>
    public int LogFrames => Volatile.Read(ref _logFrames);

    /// <summary>
    /// Makes <paramref name="writer"/> report the log's length after each commit, and sets the writer's SQLite settings
    /// for it. Without the hook (an SQLite library that lacks it) the writer keeps SQLite's automatic checkpoint, and this
    /// thread never runs.
    /// </summary>
    public async Task AttachAsync(SqliteConnection writer)
    {
        await using (var size = SqliteDatabase.Command(writer, null, "PRAGMA page_size"))
            LogPages = (int)Math.Max(1, _logBytes / Convert.ToInt64(await size.ExecuteScalarAsync()));
        // A short log is still copied a few times before the writer starts it over.
        CopyPages = Math.Max(1, Math.Min(CopyPages, LogPages / 4));
        try
        {
            if (!_self.IsAllocated) _self = GCHandle.Alloc(this);
            NativeMethods.sqlite3_wal_hook(writer.Handle!.DangerousGetHandle(), OnCommitPointer, GCHandle.ToIntPtr(_self));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Hooked = false;
            return;
        }
        Hooked = true;
        // The log file is cut back to its usual length whenever it starts over, rather than kept at its peak.
        await SqliteDatabase.ExecAsync(writer, null, $"PRAGMA journal_size_limit = {_logBytes};", CancellationToken.None);
    }

    /// <summary>Whether the writer reports its commits (else SQLite's automatic checkpoint does the work, on the writer).</summary>
    public bool Hooked { get; private set; }

    /// <summary>
    /// Pages the log grows by between two checkpoints of this thread: 256 (1 MB of 4 KB pages), at most a quarter of
    /// <see cref="LogPages"/> (set when the writer opens). Each checkpoint syncs the log and the file to disk: one after
    /// every commit, which small fits submitted one by one make hundreds a second, spent more on those syncs than the
    /// writer saved. Tests set 1: a checkpoint after every commit.
    /// </summary>
    public int CopyPages { get; set; } = 256;

    /// <summary>Checkpoints this thread ran.</summary>
    public long Copies => Interlocked.Read(ref _copies);

    /// <summary>
    /// The writer committed (on the writer's path, one at a time): once the log has grown by <see cref="CopyPages"/>
    /// since the last signal, copy what it holds when the checkpoint running now (if any) has ended.
    /// </summary>
    public void Committed()
    {
        Interlocked.Increment(ref _commitsSeen);
        if (_stopping || !Hooked) return;
        var frames = LogFrames;
        if (frames < _framesAtSignal) _framesAtSignal = 0; // the log started over
        if (frames - _framesAtSignal < CopyPages) return;
        _framesAtSignal = frames;
        _ = _thread.Value;
        _signal.Set();
    }

    /// <summary>The log holds <see cref="LogPages"/> or more: the writer should start it over.</summary>
    public bool LogIsFull => Hooked && LogFrames >= LogPages;

    /// <summary>
    /// On the writer's connection, between its transactions: copies what is left of the log, so that its next write starts
    /// the log over. Never throws: the writer's commit has happened, and a checkpoint that fails is tried after the next.
    /// </summary>
    public async Task CheckpointOnWriterAsync(SqliteConnection writer)
    {
        await _checkpointing.WaitAsync();
        try
        {
            Interlocked.Increment(ref _onWriter);
            Checkpoint(writer, Commits);
        }
        catch (SqliteException)
        {
            Interlocked.Increment(ref _failures);
        }
        finally
        {
            _checkpointing.Release();
        }
    }

    /// <summary>A passive checkpoint; notes whether it copied all of the log.</summary>
    private void Checkpoint(SqliteConnection conn, long through)
    {
        // One row: busy (another process's checkpoint held the log), pages in the log, pages copied.
        using var cmd = SqliteDatabase.Command(conn, null, "PRAGMA wal_checkpoint(PASSIVE)");
        using var row = cmd.ExecuteReader();
        if (row.Read() && row.GetInt64(0) == 0 && row.GetInt64(1) == row.GetInt64(2)) Interlocked.Exchange(ref _checkpointedThrough, through);
    }

    private void Run()
    {
        SqliteConnection? conn = null;
        try
        {
            while (true)
            {
                _signal.Wait();
                _signal.Reset();
                if (_stopping) return;
                var through = Commits;
                _checkpointing.Wait();
                try
                {
                    if (conn is null)
                    {
                        conn = new SqliteConnection(_connectionString);
                        conn.Open();
                    }
                    Interlocked.Increment(ref _copies);
                    Checkpoint(conn, through);
                }
                catch (SqliteException)
                {
                    // A file replaced or a disk error: the writer hears of it on its own; reopen on the next commit.
                    Interlocked.Increment(ref _failures);
                    conn?.Dispose();
                    conn = null;
                }
                finally
                {
                    _checkpointing.Release();
                }
            }
        }
        finally
        {
            conn?.Dispose();
        }
    }

    /// <summary>Lets a running checkpoint end, then closes the connection. Call after the writer connection is closed.</summary>
    public ValueTask DisposeAsync()
    {
        _stopping = true;
        if (_thread.IsValueCreated)
        {
            _signal.Set();
            _thread.Value.Join();
        }
        if (_self.IsAllocated) _self.Free();
        return ValueTask.CompletedTask;
    }

    /// <summary>SQLite's WAL hook: called in the writer's commit with the pages now in the log. Returns SQLITE_OK.</summary>
    private static int OnCommit(IntPtr self, IntPtr db, IntPtr schema, int frames)
    {
        if (GCHandle.FromIntPtr(self).Target is WalCheckpointer checkpointer) Volatile.Write(ref checkpointer._logFrames, frames);
        return 0;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int WalHook(IntPtr self, IntPtr db, IntPtr schema, int frames);

    // Kept alive for the process: SQLite holds the pointer for as long as a writer connection is open.
    private static readonly WalHook OnCommitDelegate = OnCommit;
    private static readonly IntPtr OnCommitPointer = Marshal.GetFunctionPointerForDelegate(OnCommitDelegate);

    private static class NativeMethods
    {
        // The library SQLitePCLRaw's bundle loads for Microsoft.Data.Sqlite.
        [DllImport("e_sqlite3", CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr sqlite3_wal_hook(IntPtr db, IntPtr callback, IntPtr arg);
    }
}
