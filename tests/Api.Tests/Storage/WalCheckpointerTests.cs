using FitService.Api.Storage;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Tests.Storage;

/// <summary>The embedded file's log is copied into the file beside the writer, not by it, and nothing committed is lost either way.</summary>
public sealed class WalCheckpointerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-checkpoint-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static Task<int> Exec(SqliteDatabase database, string sql) => database.WriteAsync(async (conn, tx) =>
    {
        await using var cmd = SqliteDatabase.Command(conn, tx, sql);
        return await cmd.ExecuteNonQueryAsync();
    }, CancellationToken.None);

    /// <summary>Rows of the table as the database file alone holds them: a copy of it without its log.</summary>
    private long RowsInTheFileAlone(string path)
    {
        var copy = Path.Combine(_folder, $"copy-{Guid.NewGuid():N}.db");
        File.Copy(path, copy);
        using var conn = new SqliteConnection($"Data Source={copy};Pooling=False");
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM t";
        return (long)cmd.ExecuteScalar()!;
    }

    private static async Task CheckpointedAsync(SqliteDatabase database)
    {
        var commits = database.Checkpointer.Commits;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (database.Checkpointer.CheckpointedThrough < commits)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no whole checkpoint after commit {commits} in 60 s ({database.Checkpointer.Failures} failed)");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task CommitsReachTheFileWithoutTheWriterCheckpointing()
    {
        var path = Path.Combine(_folder, "fits.db");
        await using var database = new SqliteDatabase($"Data Source={path}", _folder);
        database.Checkpointer.CopyPages = 1; // a checkpoint after every commit
        await Exec(database, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
        // 400 rows of 500 bytes: ~50 pages, far below the writer's own threshold, so only the checkpointer copies them.
        for (var i = 0; i < 20; i++)
            await Exec(database, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) INSERT INTO t (v) SELECT randomblob(500) FROM n");
        Assert.True(database.Checkpointer.Hooked);
        Assert.True(database.Checkpointer.LogPages >= 20 * 10, "the writes above would reach the writer's own checkpoint");

        await CheckpointedAsync(database);

        Assert.Equal(400, RowsInTheFileAlone(path));
        Assert.Equal(0, database.Checkpointer.Failures);
        Assert.Equal(0, database.Checkpointer.OnWriter);
    }

    [Fact]
    public async Task WritesGoOnWhileAReaderHoldsAnOldSnapshotAndAllReachTheFileAfterIt()
    {
        var path = Path.Combine(_folder, "held.db");
        await using var database = new SqliteDatabase($"Data Source={path}", _folder);
        database.Checkpointer.CopyPages = 1;
        await Exec(database, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
        await Exec(database, "INSERT INTO t (v) VALUES (randomblob(100))");
        await CheckpointedAsync(database);

        // A reader in a transaction pins its snapshot: a passive checkpoint copies only what it may, and waits for nobody.
        var reader = await database.OpenReaderAsync(CancellationToken.None);
        var snapshot = reader.BeginTransaction(deferred: true);
        using (var read = reader.CreateCommand())
        {
            read.Transaction = snapshot;
            read.CommandText = "SELECT COUNT(*) FROM t";
            Assert.Equal(1L, read.ExecuteScalar());
        }
        for (var i = 0; i < 10; i++) await Exec(database, "INSERT INTO t (v) VALUES (randomblob(100))");
        Assert.Equal(1, RowsInTheFileAlone(path));

        snapshot.Dispose();
        await reader.DisposeAsync();
        await Exec(database, "INSERT INTO t (v) VALUES (randomblob(100))");
        await CheckpointedAsync(database);
        Assert.Equal(12, RowsInTheFileAlone(path));
    }

    [Fact]
    public async Task TheWriterStartsTheLogOverAtItsConfiguredLengthAndTheFileIsCutBackToIt()
    {
        var path = Path.Combine(_folder, "short-log.db");
        await using var database = new SqliteDatabase($"Data Source={path}", _folder, logMegabytes: 1);
        database.Checkpointer.CopyPages = 1;
        await Exec(database, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
        Assert.Equal(256, database.Checkpointer.LogPages);
        long longest = 0;
        // 200 commits of ~6 pages: 1,200 pages written, almost five times the log's length.
        for (var i = 0; i < 200; i++)
        {
            await Exec(database, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) INSERT INTO t (v) SELECT randomblob(2000) FROM n");
            longest = Math.Max(longest, new FileInfo(path + "-wal").Length);
        }

        Assert.True(database.Checkpointer.OnWriter >= 3, $"the writer started the log over {database.Checkpointer.OnWriter} times");
        // A frame is a page and a 24-byte header; the log may pass its length by the commit that filled it, and one more
        // if a checkpoint beside it kept the next write from starting over.
        const long frame = 4096 + 24;
        Assert.True(longest <= 32 + (256 + 2 * 8) * frame, $"the log file reached {longest} bytes");
        await CheckpointedAsync(database);
        Assert.Equal(2000, RowsInTheFileAlone(path));
    }

    [Fact]
    public async Task TheLogIsCopiedEachTimeItHasGrownByCopyPagesNotAfterEveryCommit()
    {
        await using var database = new SqliteDatabase($"Data Source={Path.Combine(_folder, "steps.db")}", _folder);
        var checkpointer = database.Checkpointer;
        await Exec(database, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
        async Task<int> InsertAsync()
        {
            await Exec(database, "INSERT INTO t (v) VALUES (randomblob(100))");
            return checkpointer.LogFrames;
        }

        // Small commits of a page or two each: none signals a checkpoint until the log has grown by CopyPages.
        var frames = 0;
        while (frames < checkpointer.CopyPages / 2) frames = await InsertAsync();
        Assert.Equal(0, checkpointer.Copies);
        while (checkpointer.Copies == 0)
        {
            frames = await InsertAsync();
            Assert.True(frames <= checkpointer.CopyPages + 2, $"no checkpoint after the log reached {frames} pages");
            if (frames >= checkpointer.CopyPages) await CheckpointedAsync(database);
        }
        Assert.Equal(1, checkpointer.Copies);
        Assert.Equal(0, checkpointer.OnWriter);
    }

    [Fact]
    public void TheLogLengthIsAtLeastOneMegabyte() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteDatabase($"Data Source={Path.Combine(_folder, "x.db")}", _folder, logMegabytes: 0));
}
