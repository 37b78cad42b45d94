using FitService.Api.Storage;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Tests.Storage;

/// <summary>
/// The embedded store's reader pool is bounded (<c>Storage:SqlitePooledReaders</c>): however many reads ran at once, the
/// pool keeps at most that many connections afterwards, and a read beyond it neither waits nor fails.
/// </summary>
[Collection(Hosting.EmbeddedMemoryTests.Name)]
public sealed class SqliteReaderPoolTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-readers-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task AfterAPeakOfConcurrentReadsThePoolKeepsTheMemoryOfAtMostItsBound()
    {
        // SQLite's memory is the process's: measured in the collection that runs alone, without a soft limit to blur it.
        var previous = SqliteDatabase.MemoryLimit;
        SqliteDatabase.LimitMemory(0);
        try
        {
            // Without a bound, Microsoft.Data.Sqlite's pool keeps every connection it opened, each with its page cache and
            // schema, for the life of the process; with one, the 32 readers beyond the pool give their memory back.
            var unbounded = await RetainedAfterAPeakAsync(await DatabaseAsync("unbounded.db", pooledReaders: 0), readers: 40);
            var bounded = await RetainedAfterAPeakAsync(await DatabaseAsync("bounded.db", pooledReaders: 8), readers: 40);

            Assert.True(unbounded > 4L * 1024 * 1024, $"40 pooled readers kept only {unbounded / 1048576.0:0.0} MB: the test reads too little");
            Assert.True(bounded < unbounded / 3, $"after 40 readers at once, a pool of 8 kept {bounded / 1048576.0:0.0} MB, an unbounded one {unbounded / 1048576.0:0.0} MB");
        }
        finally
        {
            SqliteDatabase.LimitMemory(previous);
        }
    }

    [Fact]
    public async Task AReaderClosedWithAFailedCommandGivesItsPlaceBack()
    {
        var database = await DatabaseAsync("failing.db", pooledReaders: 2);

        for (var i = 0; i < 10; i++)
        {
            await using var conn = await database.OpenReaderAsync(CancellationToken.None);
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = "SELECT * FROM no_such_table";
            await Assert.ThrowsAsync<SqliteException>(() => cmd.ExecuteScalarAsync());
        }

        Assert.Equal(0, database.PooledReadersOpen);
        // Both places are free again: two readers at once both come from the pool.
        await using var first = await database.OpenReaderAsync(CancellationToken.None);
        await using var second = await database.OpenReaderAsync(CancellationToken.None);
        Assert.Equal(2, database.PooledReadersOpen);
    }

    /// <summary>A database of 4,000 rows of 500 bytes (2 MB: a full page cache for each connection that reads them all).</summary>
    private async Task<SqliteDatabase> DatabaseAsync(string name, int pooledReaders)
    {
        var database = new SqliteDatabase($"Data Source={Path.Combine(_folder, name)}", _folder, pooledReaders: pooledReaders);
        await database.WriteAsync(async (conn, tx) =>
        {
            await using var create = conn.CreateCommand();
            create.Transaction = tx;
            create.CommandText = """
                CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
                INSERT INTO t SELECT i, randomblob(500) FROM n;
                """;
            return await create.ExecuteNonQueryAsync();
        }, CancellationToken.None);
        return database;
    }

    /// <summary>
    /// SQLite's memory kept after <paramref name="readers"/> readers were held open at once, each reading every row, and
    /// then all closed.
    /// </summary>
    private static async Task<long> RetainedAfterAPeakAsync(SqliteDatabase database, int readers)
    {
        var before = SQLitePCL.raw.sqlite3_memory_used();
        var open = new List<SqliteConnection>();
        try
        {
            for (var i = 0; i < readers; i++) open.Add(await database.OpenReaderAsync(CancellationToken.None));
            foreach (var conn in open)
            {
                await using var cmd = conn.CreateCommand();
                cmd.CommandText = "SELECT sum(length(v)) FROM t";
                Assert.Equal(4000L * 500, (long)(await cmd.ExecuteScalarAsync())!);
            }
            if (database.PooledReaders > 0) Assert.Equal(Math.Min(readers, database.PooledReaders), database.PooledReadersOpen);
        }
        finally
        {
            foreach (var conn in open) await conn.DisposeAsync();
        }
        Assert.Equal(0, database.PooledReadersOpen);
        return SQLitePCL.raw.sqlite3_memory_used() - before;
    }
}
