using System.Text.RegularExpressions;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Npgsql;

namespace FitService.Api.Tests.Storage;

/// <summary>
/// A young database on a real PostgreSQL: a statement prepared while the tables were new keeps the plan made for them (a
/// scan of every row) as they grow, until their statistics are refreshed, which the store does once a table holds many
/// times the rows its statistics describe. Autovacuum is off for these tables, so only the store can refresh them.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresYoungStatisticsTests(PostgresCluster cluster) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 6, 0, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly List<PostgresFitStore> _stores = [];

    /// <summary>The chunk end's parameters in the order <see cref="PreparedChunkEnd"/> numbers them.</summary>
    private static readonly string[] ChunkEndParameters = ["ids", "status", "reason", "step", "params", "loss", "error", "finished", "history", "outcome", "pending"];

    [PostgresFact]
    public async Task AChunkEndPreparedOnANewTableSearchesTheIdIndexOnceTheStoreRefreshedTheGrownTablesStatistics()
    {
        var database = await DatabaseAsync();
        var store = await StoreAsync(database);
        await using var session = new NpgsqlConnection(database);
        await session.OpenAsync();
        // The plan a connection keeps for a statement it prepared: made once, at the first execution, then reused.
        await ExecAsync(session, "SET plan_cache_mode = force_generic_plan");
        await ExecAsync(session, PreparedChunkEnd());
        Assert.Contains("Seq Scan on fits", await ChunkEndPlanAsync(session), StringComparison.Ordinal);

        await store.CreateBatchAsync(new NewBatch("b1", "t1", T0, null, "{}"), [.. Enumerable.Range(0, 3000).Select(_ => AFit("t1", "b1"))], None);
        // Grown twenty-fold since, and still planned as it was.
        Assert.Contains("Seq Scan on fits", await ChunkEndPlanAsync(session), StringComparison.Ordinal);

        // The statistics collector counts the new rows within a second or so of the batch's commit.
        var refreshed = await UntilAsync(() => store.RefreshYoungStatisticsAsync(None), analyzed => analyzed.Contains("fits"));

        Assert.Contains("fits", refreshed);
        Assert.Contains("fit_points", refreshed);
        var plan = await ChunkEndPlanAsync(session);
        Assert.True(Regex.IsMatch(plan, @"Index Scan using fits_id_key on fits"), plan);
        Assert.DoesNotContain("Seq Scan on fits", plan, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task ATableIsAnalyzedAgainOnlyOnceItHoldsTwiceTheRowsItsStatisticsSay()
    {
        var database = await DatabaseAsync();
        var store = await StoreAsync(database);
        await store.CreateBatchAsync(new NewBatch("b1", "t1", T0, null, "{}"), [.. Enumerable.Range(0, 1000).Select(_ => AFit("t1", "b1"))], None);
        await UntilAsync(() => store.RefreshYoungStatisticsAsync(None), analyzed => analyzed.Contains("fits"));
        Assert.Equal(1000f, await ScalarAsync<float>(database, "SELECT reltuples FROM pg_class WHERE relname = 'fits'"));

        // 1.5 times the rows: not stale enough. The collector's count is waited for first, so the answer is not a lag.
        await store.CreateBatchAsync(new NewBatch("b2", "t1", T0, null, "{}"), [.. Enumerable.Range(0, 500).Select(_ => AFit("t1", "b2"))], None);
        await UntilAsync(() => ScalarAsync<long>(database, "SELECT pg_stat_get_live_tuples('fits'::regclass)"), live => live == 1500);
        Assert.DoesNotContain("fits", await store.RefreshYoungStatisticsAsync(None));
        Assert.Equal(1000f, await ScalarAsync<float>(database, "SELECT reltuples FROM pg_class WHERE relname = 'fits'"));

        await store.CreateBatchAsync(new NewBatch("b3", "t1", T0, null, "{}"), [.. Enumerable.Range(0, 500).Select(_ => AFit("t1", "b3"))], None);
        await UntilAsync(() => store.RefreshYoungStatisticsAsync(None), analyzed => analyzed.Contains("fits"));
        Assert.Equal(2000f, await ScalarAsync<float>(database, "SELECT reltuples FROM pg_class WHERE relname = 'fits'"));
    }

    [PostgresFact]
    public async Task ASmallTableIsLeftToAutovacuum()
    {
        var database = await DatabaseAsync();
        var store = await StoreAsync(database);
        var rows = PostgresFitStore.YoungTableRows - 1;
        await store.CreateBatchAsync(new NewBatch("b1", "t1", T0, null, "{}"), [.. Enumerable.Range(0, rows).Select(_ => AFit("t1", "b1"))], None);
        await UntilAsync(() => ScalarAsync<long>(database, "SELECT pg_stat_get_live_tuples('fits'::regclass)"), live => live == rows);

        Assert.Empty(await store.RefreshYoungStatisticsAsync(None));
        Assert.True(await ScalarAsync<float>(database, "SELECT reltuples FROM pg_class WHERE relname = 'fits'") < 0);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
    }

    private async Task<string> DatabaseAsync() =>
        new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync("young")) { MaxPoolSize = 10 }.ConnectionString;

    private async Task<PostgresFitStore> StoreAsync(string database)
    {
        var store = new PostgresFitStore(database);
        _stores.Add(store);
        await store.InitializeAsync(None);
        await using var conn = new NpgsqlConnection(database);
        await conn.OpenAsync();
        foreach (var table in PostgresFitStore.GrowingTables) await ExecAsync(conn, $"ALTER TABLE {table} SET (autovacuum_enabled = false)");
        return store;
    }

    /// <summary>The store's chunk end, prepared by name with its parameters numbered (as a connection's prepared statement is).</summary>
    private static string PreparedChunkEnd()
    {
        var sql = PostgresFitStore.CompleteManySql(announce: false);
        for (var i = 0; i < ChunkEndParameters.Length; i++) sql = Regex.Replace(sql, $@"@{ChunkEndParameters[i]}\b", $"${i + 1}");
        return "PREPARE chunk_end(text[], int[], text[], int[], bytea[], float8[], text[], timestamptz[], bytea[], text[], boolean[]) AS " + sql;
    }

    private static async Task<string> ChunkEndPlanAsync(NpgsqlConnection session)
    {
        await using var cmd = new NpgsqlCommand(
            "EXPLAIN EXECUTE chunk_end('{a,b}', '{2,2}', '{steps,steps}', '{10,10}', '{\\\\x00,\\\\x00}', '{1,1}', '{NULL,NULL}', " +
            "'{2026-12-01T06:00:00Z,2026-12-01T06:00:00Z}', '{\\\\x00,\\\\x00}', '{NULL,NULL}', '{f,f}')", session);
        var lines = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) lines.Add(reader.GetString(0));
        return string.Join('\n', lines);
    }

    /// <summary>Asks until the answer is the one wanted (or two minutes have passed), and returns the last answer.</summary>
    private static async Task<T> UntilAsync<T>(Func<Task<T>> ask, Func<T, bool> wanted)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var answer = await ask();
            if (wanted(answer) || DateTime.UtcNow > deadline) return answer;
            await Task.Delay(100);
        }
    }

    private static async Task ExecAsync(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(string database, string sql)
    {
        await using var conn = new NpgsqlConnection(database);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static NewFit AFit(string tenant, string batch) =>
        new(Guid.NewGuid().ToString("N"), tenant, T0, "{\"degree\":2}", [0, 0.5, 1], [1, 2.5, 4], Steps: 10, HistoryEvery: 1, Label: null,
            IdempotencyKey: null, RequestHash: "h1", BatchId: batch);
}
