using System.Net;
using FitService.Api.Jobs;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Hangfire;
using Hangfire.InMemory;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace FitService.Api.Tests.Hosting;

/// <summary>
/// What keeps the embedded service's memory flat under steady load (docs/throughput.md, "GET under load"): ended jobs
/// leave the in-memory Hangfire queue after <c>Storage:EndedJobRetentionSeconds</c>, and the page caches of however many
/// pooled SQLite readers there are share <c>Storage:SqliteMemoryMegabytes</c>.
/// </summary>
[Collection(Name)]
public sealed class EmbeddedMemoryTests
{
    /// <summary>SQLite's memory limit and use are the process's: nothing else may open connections beside these tests.</summary>
    public const string Name = "SQLite memory, alone";

    [Fact]
    public async Task TheEmbeddedServiceKeepsEndedJobsForAMinuteAndLimitsSqlitesMemory()
    {
        await using var factory = new FitServiceFactory();
        factory.CreateClient();

        var storage = Assert.IsType<InMemoryStorage>(factory.Services.GetRequiredService<JobStorage>());
        Assert.Equal(TimeSpan.FromMinutes(1), storage.Options.MaxExpirationTime);
        Assert.Equal(32L * 1024 * 1024, SqliteDatabase.MemoryLimit);
    }

    [Fact]
    public async Task AnEndedFitsJobLeavesTheEmbeddedQueueAfterTheRetention()
    {
        // Queued, not run on the request: only a queued fit has a Hangfire job.
        await using var factory = new FitServiceFactory(("Storage:EndedJobRetentionSeconds", "1"), ("Workers:InlineFitWork", "0"));
        var client = factory.CreateClient();
        var monitoring = factory.Services.GetRequiredService<JobStorage>().GetMonitoringApi();

        var submitted = await client.PostFit(TestApi.SmallFit());
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var fit = await client.WaitForEnd((await submitted.ReadFit()).Id);
        Assert.Equal("succeeded", fit.Status);

        // The queue evicts expired entries every few seconds; the default retention (a minute) would outlast this wait.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(monitoring.GetStatistics().Succeeded >= 1 && monitoring.SucceededListCount() == 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        Assert.True(monitoring.GetStatistics().Succeeded >= 1, "no job succeeded");
        Assert.Equal(0, monitoring.SucceededListCount());
        // The fit itself is the store's: still there, whole.
        Assert.Equal("succeeded", (await client.WaitForEnd(fit.Id)).Status);
    }

    [Fact]
    public async Task WakingIdleWorkersForFitsLeavesNothingBehindInTheEmbeddedQueue()
    {
        // Queued, not run on the request: each fit's job wakes a worker that was waiting on the queues.
        await using var factory = new FitServiceFactory(("Workers:InlineFitWork", "0"));
        var client = factory.CreateClient();
        var storage = Assert.IsType<InMemoryStorage>(factory.Services.GetRequiredService<JobStorage>());

        async Task RunOneAtATime(int fits)
        {
            for (var i = 0; i < fits; i++)
            {
                // A worker waits on the queues before each fit arrives, so that the fit's job wakes it.
                await WaitUntil(() => WaitingFetches(storage).GetValueOrDefault(HangfireFitQueue.Queue) > 0, "no worker waits on the fits queue");
                var submitted = await client.PostFit(TestApi.SmallFit());
                Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
                Assert.Equal("succeeded", (await client.WaitForEnd((await submitted.ReadFit()).Id)).Status);
            }
        }
        await RunOneAtATime(10);
        var before = WaitingFetches(storage);
        await RunOneAtATime(40);
        var after = WaitingFetches(storage);

        // Waiting fetches are a few per worker, however many fits woke them; each woken fetch used to leave its node on
        // every other queue it waited on, one more per fit for the life of the process.
        var shown = $"before {string.Join(", ", before)}; after {string.Join(", ", after)}";
        Assert.True(after.Values.Sum() <= before.Values.Sum() + 4, shown);
    }

    /// <summary>
    /// The fetches waiting on each queue of the embedded Hangfire storage: Hangfire.InMemory keeps them as a linked list of
    /// nodes per queue (storage → dispatcher → state → Queues[name].WaitHead.Next → …); its internals, read by reflection.
    /// </summary>
    private static Dictionary<string, int> WaitingFetches(InMemoryStorage storage)
    {
        const System.Reflection.BindingFlags Instance = System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic;
        static object Member(object owner, string typePrefix)
        {
            for (var type = owner.GetType(); type is not null; type = type.BaseType)
            {
                // By the value's own type: a field may be declared as an interface or a base class.
                var value = type.GetFields(Instance).Select(f => f.GetValue(owner)).FirstOrDefault(v => v?.GetType().Name.StartsWith(typePrefix, StringComparison.Ordinal) == true);
                if (value is not null) return value;
            }
            throw new InvalidOperationException($"Hangfire.InMemory changed: no {typePrefix} in {owner.GetType()}");
        }
        var state = Member(Member(storage, "Dispatcher"), "MemoryState");
        var queues = (System.Collections.IDictionary)(state.GetType().GetProperty("Queues", Instance)?.GetValue(state) ?? state.GetType().GetField("Queues", Instance)!.GetValue(state)!);
        var counts = new Dictionary<string, int>();
        foreach (System.Collections.DictionaryEntry queue in queues)
        {
            var node = queue.Value!.GetType().GetProperty("WaitHead", Instance)!.GetValue(queue.Value);
            var count = 0;
            while ((node = node!.GetType().GetField("Next", Instance)!.GetValue(node)) is not null) count++;
            counts[(string)queue.Key] = count;
        }
        return counts;
    }

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task ManyPooledReadersShareSqlitesMemoryLimit()
    {
        var folder = Directory.CreateTempSubdirectory("fitservice-memory-").FullName;
        var previous = SqliteDatabase.MemoryLimit;
        SqliteConnection.ClearAllPools();
        try
        {
            // 8 MB of rows, 40 readers each reading all of them: without a limit each would cache 2 MB of pages (80 MB).
            var database = new SqliteDatabase($"Data Source={Path.Combine(folder, "memory.db")}", folder, memoryMegabytes: 8);
            await database.WriteAsync(async (conn, tx) =>
            {
                await using var create = conn.CreateCommand();
                create.Transaction = tx;
                create.CommandText = """
                    CREATE TABLE pages (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 16000)
                    INSERT INTO pages SELECT i, randomblob(500) FROM n;
                    """;
                return await create.ExecuteNonQueryAsync();
            }, CancellationToken.None);
            var before = SQLitePCL.raw.sqlite3_memory_used();

            var readers = new List<SqliteConnection>();
            try
            {
                for (var i = 0; i < 40; i++) readers.Add(await database.OpenReaderAsync(CancellationToken.None));
                foreach (var reader in readers)
                {
                    await using var read = reader.CreateCommand();
                    read.CommandText = "SELECT sum(length(data)) FROM pages";
                    Assert.Equal(16000L * 500, (long)(await read.ExecuteScalarAsync())!);
                }
                var grown = SQLitePCL.raw.sqlite3_memory_used() - before;

                Assert.True(grown < 24L * 1024 * 1024, $"40 readers grew SQLite's memory by {grown / 1048576.0:0.0} MB under a limit of 8 MB");
            }
            finally
            {
                foreach (var reader in readers) await reader.DisposeAsync();
            }
            await database.DisposeAsync();
        }
        finally
        {
            SqliteDatabase.LimitMemory(previous);
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}

[CollectionDefinition(EmbeddedMemoryTests.Name, DisableParallelization = true)]
public sealed class EmbeddedMemoryCollection;
