using System.Text.RegularExpressions;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Npgsql;

namespace FitService.Api.Tests.Storage;

/// <summary>
/// The shared store's schema on a real PostgreSQL: the queries run per submission, per fit or per chunk search the partial
/// indexes of unended fits (schema version 12 says "unended" by <c>finished_at IS NULL</c>, not by the status), a claim
/// writes no index entry (a HOT update), and a database of version 11 is upgraded with its fits intact.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresQueryPlanTests(PostgresCluster cluster) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 3, 30, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly List<PostgresFitStore> _stores = [];

    [PostgresFact]
    public async Task HotQueriesSearchAPartialIndexOfUnendedFitsAmongManyEndedOnes()
    {
        var database = await DatabaseAsync();
        var store = await StoreAsync(database);
        // A table as a busy service has it: thousands of ended fits of one tenant's batch, ten of them left unended, and
        // another tenant's queued batch.
        await store.CreateBatchAsync(new NewBatch("b1", "t1", T0, null, "{}"), [.. Enumerable.Range(0, 3000).Select(_ => AFit("t1", "b1"))], None);
        await ExecAsync(database, "UPDATE fits SET status = 2, finished_at = now() WHERE seq > 10");
        await store.CreateBatchAsync(new NewBatch("b2", "t2", T0, null, "{}"), [.. Enumerable.Range(0, 300).Select(_ => AFit("t2", "b2"))], None);
        await ExecAsync(database, "VACUUM ANALYZE fits");

        // An index scan, an index-only scan or a bitmap scan of the index: each names it. Where no key narrows the search,
        // any of the partial indexes of unended fits will do: each holds only those.
        const string AnyUnendedIndex = @"\bix_fits_(batch_)?unended(_tenant)?\b";
        (string Sql, string Index)[] hot =
        [
            (PostgresFitStore.ActiveCountSql, @"\bix_fits_unended_tenant\b"),
            (PostgresFitStore.UnendedInBatchSql, @"\bix_fits_batch_unended\b"),
            (PostgresFitStore.UnendedSql, AnyUnendedIndex),
            (PostgresFitStore.QueuedCountSql, AnyUnendedIndex),
            (PostgresFitLeases.ClaimSql, @"\bix_fits_unended\b"),
        ];
        foreach (var (sql, index) in hot)
        {
            var plan = await PlanAsync(database, sql, sql == PostgresFitLeases.ClaimSql ? PostgresFitLeases.ClaimPlan : null);
            Assert.True(Regex.IsMatch(plan, index), $"{index} not searched:\n{sql}\n{plan}");
            Assert.False(plan.Contains("Seq Scan on fits", StringComparison.Ordinal), $"fits scanned:\n{sql}\n{plan}");
        }
    }

    [PostgresFact]
    public async Task AClaimWalksTheUnendedIndexInOrderThoughTheStatisticsPredateABatchJustCopied()
    {
        var database = await DatabaseAsync();
        var store = await StoreAsync(database);
        // Statistics as a service has them when a batch arrives: taken while the last few fits of the batch before were
        // unended (nothing refreshes them here: autovacuum is off), then 10,000 fits COPYed in. Rows as wide as real ones:
        // the lesson's request, and an ended fit's outcome.
        await ExecAsync(database, "ALTER TABLE fits SET (autovacuum_enabled = off)");
        await store.CreateBatchAsync(new NewBatch("b1", "t1", T0, null, "{}"), [.. Enumerable.Range(0, 2000).Select(_ => ALessonFit("b1"))], None);
        await ExecAsync(database, $"UPDATE fits SET {EndedWithOutcome} WHERE seq < (SELECT min(seq) + 1900 FROM fits)");
        await ExecAsync(database, "ANALYZE fits");
        await ExecAsync(database, $"UPDATE fits SET {EndedWithOutcome} WHERE finished_at IS NULL");
        await store.CreateBatchAsync(new NewBatch("b2", "t1", T0, null, "{}"), [.. Enumerable.Range(0, 10_000).Select(_ => ALessonFit("b2"))], None);

        // The walk stops after n claimable rows; a bitmap scan would read all 10,000 and sort them.
        var plan = await PlanAsync(database, PostgresFitLeases.ClaimSql, PostgresFitLeases.ClaimPlan);
        Assert.True(Regex.IsMatch(plan, @"Index Scan using ix_fits_unended on fits"), $"not an ordered walk of ix_fits_unended:\n{plan}");
        Assert.False(plan.Contains("Sort", StringComparison.Ordinal), $"a sort:\n{plan}");
        Assert.False(plan.Contains("Bitmap Heap Scan on fits ", StringComparison.Ordinal), $"a bitmap scan of fits:\n{plan}");
        // A plan costly enough to be compiled (JIT) on every call says so.
        Assert.False(plan.Contains("JIT:", StringComparison.Ordinal), $"compiled:\n{plan}");

        // And the claim, run as a worker runs it, takes the batch's first fits, in order, and holds them once it returns.
        var first = await ListAsync(database, "SELECT id FROM fits WHERE finished_at IS NULL ORDER BY seq LIMIT 32");
        var claimed = await new PostgresFitLeases(store).ClaimSmallAsync(32, long.MaxValue, T0, None);
        Assert.Equal(first, claimed.Select(c => c.Fit.Id));
        Assert.Equal(first, await ListAsync(database, "SELECT id FROM fits WHERE status = 1 AND claimed_by IS NOT NULL ORDER BY seq"));
    }

    [PostgresFact]
    public async Task AChunksEndFindsTheHistoryByItsKeyThoughTheStatisticsSawOnlyAFewLongFits()
    {
        var database = await DatabaseAsync();
        await StoreAsync(database);
        // Statistics taken while the history held the progress chunks of five long fits (200 rows each; nothing refreshes
        // them here: autovacuum is off), then 20,000 fits ended with a history each.
        await ExecAsync(database, "ALTER TABLE fit_history SET (autovacuum_enabled = off)");
        await ExecAsync(database, "INSERT INTO fit_history SELECT 'long' || (g % 5), g, decode(repeat('00', 800), 'hex') FROM generate_series(1, 1000) g");
        await ExecAsync(database, "ANALYZE fit_history");
        await ExecAsync(database, "INSERT INTO fit_history SELECT 'f' || g, 0, decode(repeat('00', 800), 'hex') FROM generate_series(1, 20000) g");

        // The chunk's rows are looked up by key; a hash join would read the whole table at every chunk's end.
        var plan = await PlanAsync(database, PostgresFitStore.CompleteManySql(announce: true), PostgresFitStore.CompleteManyPlan);
        Assert.False(plan.Contains("Seq Scan", StringComparison.Ordinal), $"a table read whole:\n{plan}");
        Assert.True(Regex.IsMatch(plan, @"Index Scan (using|on) fit_history_pkey"), $"fit_history not searched by its key:\n{plan}");
        Assert.False(plan.Contains("JIT:", StringComparison.Ordinal), $"compiled:\n{plan}");
    }

    [PostgresFact]
    public async Task AClaimAndAProgressSaveWriteNoIndexEntry()
    {
        var database = await DatabaseAsync();
        var store = await StoreAsync(database);
        var leases = new PostgresFitLeases(store);
        await store.CreateBatchAsync(new NewBatch("b1", "t1", T0, null, "{}"), [.. Enumerable.Range(0, 10).Select(_ => AFit("t1", "b1"))], None);

        var claimed = await leases.ClaimSmallAsync(10, long.MaxValue, T0, None);
        Assert.Equal(10, claimed.Count);
        var first = claimed[0];
        await store.SaveProgressAsync(first.Fit.Id, new FitProgressUpdate(first.Fit.Attempt, 3, [1, 2, 3], 1, 0, []), None);

        // Every update so far was HOT: PostgreSQL counts them per table once the store's connections report their statistics.
        await WaitForAsync(async () => await ScalarAsync<long>(database, "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'fits'") >= 11);
        Assert.Equal(11L, await ScalarAsync<long>(database, "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'fits'"));
        Assert.Equal(11L, await ScalarAsync<long>(database, "SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'fits'"));
    }

    [PostgresFact]
    public async Task ADatabaseOfVersion11IsUpgradedWithItsFitsClaimableCountedAndDeletedWithTheirRows()
    {
        var database = await DatabaseAsync();
        var old = new PostgresFitStore(database);
        _stores.Add(old);
        await old.InitializeAsync(11, None);
        await old.CreateBatchAsync(new NewBatch("b1", "t1", T0, null, "{}"), [.. Enumerable.Range(0, 3).Select(_ => AFit("t1", "b1"))], None);
        var ended = (await new PostgresFitLeases(old).ClaimSmallAsync(1, long.MaxValue, T0, None)).Single().Fit.Id;
        await old.CompleteManyAsync([(ended, new FitCompletion(FitStatus.Succeeded, "steps", 10, [1, 2, 3], 0.5, [3, 2, 1], null, T0))], None);

        var store = await StoreAsync(database);

        var indexes = await ListAsync(database, "SELECT indexname FROM pg_indexes WHERE tablename = 'fits'");
        Assert.Contains("ix_fits_unended", indexes);
        Assert.Contains("ix_fits_unended_tenant", indexes);
        Assert.Contains("ix_fits_batch_unended", indexes);
        Assert.DoesNotContain("ix_fits_unfinished", indexes);
        Assert.DoesNotContain("ix_fits_active", indexes);
        Assert.DoesNotContain("ix_fits_batch_unfinished", indexes);
        Assert.Empty(await ListAsync(database,
            "SELECT conname::text FROM pg_constraint WHERE contype = 'f' AND conrelid IN ('fit_points'::regclass, 'fit_history'::regclass)"));
        Assert.Equal(2, await store.CountActiveAsync("t1", None));
        Assert.True(await store.HasUnfinishedFitsAsync("b1", None));
        Assert.Equal(2, (await new PostgresFitLeases(store).ClaimSmallAsync(10, long.MaxValue, T0, None)).Count);
        var history = (await store.GetAsync("t1", ended, int.MaxValue, None))!.History;
        Assert.Equal(new double[] { 3, 2, 1 }, history);

        Assert.True(await store.DeleteBatchAsync("t1", "b1", None));
        Assert.Equal(0L, await ScalarAsync<long>(database, "SELECT (SELECT COUNT(*) FROM fit_points) + (SELECT COUNT(*) FROM fit_history)"));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
    }

    private async Task<string> DatabaseAsync() =>
        new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync("plan")) { MaxPoolSize = 10 }.ConnectionString;

    private async Task<PostgresFitStore> StoreAsync(string database)
    {
        var store = new PostgresFitStore(database);
        _stores.Add(store);
        await store.InitializeAsync(None);
        return store;
    }

    /// <summary>
    /// The plan PostgreSQL picks for <paramref name="sql"/> with every parameter it names bound to a plausible value, in a
    /// transaction that made <paramref name="setting"/> first, if any (as the store does).
    /// </summary>
    private static async Task<string> PlanAsync(string database, string sql, string? setting = null)
    {
        await using var conn = new NpgsqlConnection(database);
        await conn.OpenAsync();
        await using var tx = await conn.BeginTransactionAsync();
        if (setting is not null)
        {
            await using var set = new NpgsqlCommand(setting, conn, tx);
            await set.ExecuteNonQueryAsync();
        }
        await using var cmd = new NpgsqlCommand("EXPLAIN " + sql, conn, tx);
        (string, object)[] values =
        [
            ("t", "t1"), ("b", "b1"), ("work", 1_000_000L), ("n", 8), ("now", T0), ("owner", "w1"), ("lease", TimeSpan.FromSeconds(30)),
            ("givenUp", Array.Empty<string>()),
            // A chunk's end: the columns of 32 fits (as many rows as a drain's chunk), and their NOTIFYs.
            ("ids", Chunk(i => $"f{i}")), ("status", Chunk(_ => 2)), ("reason", Chunk(_ => "steps")), ("step", Chunk(_ => 10)),
            ("params", Chunk(_ => new byte[8])), ("loss", Chunk<double?>(_ => 0.5)), ("error", Chunk<string?>(_ => null)), ("finished", Chunk(_ => T0)),
            ("history", Chunk(_ => new byte[8])), ("outcome", Chunk<string?>(_ => null)), ("pending", Chunk(_ => false)), ("channel", "fit_events"),
            ("notices", Chunk(_ => "{}")),
        ];
        foreach (var (name, value) in values)
        {
            if (Regex.IsMatch(sql, $@"@{name}\b")) cmd.Parameters.AddWithValue(name, value);
        }
        var lines = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) lines.Add(reader.GetString(0));
        return string.Join('\n', lines);
    }

    private static T[] Chunk<T>(Func<int, T> value) => [.. Enumerable.Range(0, 32).Select(value)];

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) return;
            await Task.Delay(100);
        }
    }

    private static async Task ExecAsync(string database, string sql)
    {
        await using var conn = new NpgsqlConnection(database);
        await conn.OpenAsync();
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

    private static async Task<List<string>> ListAsync(string database, string sql)
    {
        await using var conn = new NpgsqlConnection(database);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        var values = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) values.Add(reader.GetString(0));
        return values;
    }

    /// <summary>What an end writes into a fit's row, with an outcome as long as a lesson fit's.</summary>
    private static readonly string EndedWithOutcome = $"status = 2, finished_at = now(), outcome = '{new string('o', 1000)}'";

    private static readonly double[] LessonX = [.. Enumerable.Range(0, 20).Select(i => -2 + i * 4.0 / 19)];
    private static readonly double[] LessonY = [.. LessonX.Select(v => 3 * v * v + 2 * v + 1)];

    private static readonly string LessonRequest = System.Text.Json.JsonSerializer.Serialize(
        new { x = LessonX, y = LessonY, degree = 2, loss = "mse", learningRate = 0.01, steps = 100 });

    private static NewFit ALessonFit(string batch) =>
        new(Guid.NewGuid().ToString("N"), "t1", T0, LessonRequest, LessonX, LessonY, Steps: 100, HistoryEvery: 1, Label: null,
            IdempotencyKey: null, RequestHash: "h1", BatchId: batch);

    private static NewFit AFit(string tenant, string batch) =>
        new(Guid.NewGuid().ToString("N"), tenant, T0, "{\"degree\":2}", [0, 0.5, 1], [1, 2.5, 4], Steps: 10, HistoryEvery: 1, Label: null,
            IdempotencyKey: null, RequestHash: "h1", BatchId: batch);
}
