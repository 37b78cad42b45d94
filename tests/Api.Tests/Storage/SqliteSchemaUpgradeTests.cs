using System.Text.Json;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace FitService.Api.Tests.Storage;

/// <summary>
/// A SQLite file written before the schema had versions (<c>PRAGMA user_version</c> 0) is brought to the current
/// version when the service opens it, and everything in it reads back as the code that wrote it read it.
/// The fixture (Fixtures/fits-before-user-version.db) was written by <see cref="WriteScenarioAsync"/> through the stores
/// of the commit before versions (a test of that commit, 9b77cde, wrote it); Fixtures/fits-before-user-version.json is
/// what those stores read back from it.
/// </summary>
public sealed class SqliteSchemaUpgradeTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 15, 2, 123, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly string Fixtures = Path.Combine(RepositoryRoot.Path, "tests", "Api.Tests", "Storage", "Fixtures");
    private static readonly string[] FitIds =
        ["f-queued", "f-running", "f-succeeded", "f-failed", "f-cancelled", "f-cancel-requested", "f-batch-1", "f-batch-2", "r-finder"];

    private readonly string _folder = Directory.CreateTempSubdirectory("schema-upgrade-").FullName;

    [Fact]
    public async Task AFileWrittenBeforeSchemaVersionsIsBroughtToTheCurrentVersionAndReadsBackAsItWasWritten()
    {
        var path = Path.Combine(_folder, "before-versions.db");
        File.Copy(Path.Combine(Fixtures, "fits-before-user-version.db"), path);
        Assert.Equal(0, await UserVersionAsync(path));
        await using var db = new SqliteDatabase($"Data Source={path}", _folder);
        var fits = new SqliteFitStore(db);
        var deliveries = new SqliteDeliveryStore(db);

        await fits.InitializeAsync(None);
        await deliveries.InitializeAsync(None);

        Assert.Equal(SqliteSchema.Version, await UserVersionAsync(path));
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Fixtures, "fits-before-user-version.json")), await SnapshotAsync(fits, deliveries));
    }

    [Fact]
    public async Task TheStoresOfThisVersionWriteAndReadTheScenarioAsTheStoresBeforeVersionsDid()
    {
        await using var db = new SqliteDatabase($"Data Source={Path.Combine(_folder, "new.db")}", _folder);
        var fits = new SqliteFitStore(db);
        var deliveries = new SqliteDeliveryStore(db);
        await fits.InitializeAsync(None);
        await deliveries.InitializeAsync(None);

        await WriteScenarioAsync(fits, deliveries);

        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Fixtures, "fits-before-user-version.json")), await SnapshotAsync(fits, deliveries));
    }

    [Fact]
    public async Task AFileOfANewerSchemaIsRefusedRatherThanMisread()
    {
        var path = Path.Combine(_folder, "newer.db");
        await using (var db = new SqliteDatabase($"Data Source={path}", _folder)) await new SqliteFitStore(db).InitializeAsync(None);
        await using (var conn = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await conn.OpenAsync();
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = $"PRAGMA user_version = {SqliteSchema.Version + 1}";
            await cmd.ExecuteNonQueryAsync();
        }

        await using var again = new SqliteDatabase($"Data Source={path}", _folder);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => new SqliteFitStore(again).InitializeAsync(None));

        Assert.Contains($"schema version {SqliteSchema.Version + 1}, newer than this version of FitService knows ({SqliteSchema.Version})", refused.Message);
        Assert.Equal(SqliteSchema.Version + 1, await UserVersionAsync(path));
    }

    [Fact]
    public async Task AMigratedFileHasTheSchemaOfANewOne()
    {
        var old = Path.Combine(_folder, "before-versions.db");
        File.Copy(Path.Combine(Fixtures, "fits-before-user-version.db"), old);
        var fresh = Path.Combine(_folder, "new.db");
        foreach (var path in new[] { old, fresh })
        {
            await using var db = new SqliteDatabase($"Data Source={path}", _folder);
            await new SqliteFitStore(db).InitializeAsync(None);
        }

        Assert.Equal(await SchemaAsync(fresh), await SchemaAsync(old));
        Assert.Contains("trigger tr_fits_cascade on fits", await SchemaAsync(old));
    }

    [Fact]
    public async Task OnAMigratedFileDeletesTakeEverythingOfTheirFitsAlong()
    {
        var (db, fits, path) = await MigratedFixtureAsync();
        await using var _ = db;

        Assert.True(await fits.DeleteAsync("t1", "f-succeeded", None));
        Assert.True(await fits.DeleteAsync("t1", "f-running", None));
        Assert.True(await fits.DeleteBatchAsync("t1", "b-1", None));

        await using var conn = new SqliteConnection($"Data Source={path}");
        await conn.OpenAsync();
        foreach (var (table, key) in new[] { ("fit_points", "fit_id"), ("fit_history", "fit_id"), ("fit_outcomes", "fit_id"), ("webhook_events", "fit_id") })
        {
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = $"SELECT COUNT(*) FROM {table} WHERE {key} IN ('f-succeeded', 'f-running', 'f-batch-1', 'f-batch-2')";
            Assert.Equal(0L, await cmd.ExecuteScalarAsync());
        }
        await using var left = conn.CreateCommand();
        left.CommandText = "SELECT COUNT(*) FROM fit_points";
        Assert.Equal(5L, await left.ExecuteScalarAsync());
    }

    /// <summary>
    /// Schema 12 keeps outcomes in <c>fit_outcomes</c>: a fit that ended before keeps the one in its row until a new one
    /// is saved (a pending optimum computed), which then replaces it; a fit that ends now has its outcome there and none
    /// in its row; a deleted fit takes its outcome along.
    /// </summary>
    [Fact]
    public async Task OnAMigratedFileOutcomesMoveToTheirTableAsTheyAreWritten()
    {
        var (db, fits, path) = await MigratedFixtureAsync();
        await using var _ = db;
        await using var conn = new SqliteConnection($"Data Source={path}");
        await conn.OpenAsync();
        async Task<object?> ScalarAsync(string sql)
        {
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = sql;
            return await cmd.ExecuteScalarAsync();
        }

        Assert.Equal("{\"optimumPending\":true}", (await fits.GetAsync("t1", "f-succeeded", 0, None))!.OutcomeJson);
        Assert.True(await fits.SaveOutcomeAsync("f-succeeded", "{\"gap\":0.5}", None));
        Assert.Equal("{\"gap\":0.5}", (await fits.GetAsync("t1", "f-succeeded", 0, None))!.OutcomeJson);
        Assert.Equal(DBNull.Value, await ScalarAsync("SELECT outcome FROM fits WHERE id = 'f-succeeded'"));
        Assert.DoesNotContain("f-succeeded", await fits.ListPendingOptimaAsync(T0.AddDays(1), 10, None));
        await fits.SaveOutcomesAsync([("f-succeeded", "{\"gap\":0.25}")], None);
        Assert.Equal("{\"gap\":0.25}", (await fits.GetAsync("t1", "f-succeeded", 0, None))!.OutcomeJson);
        Assert.False(await fits.SaveOutcomeAsync("f-queued", "{}", None));

        var queued = (string)(await ScalarAsync("SELECT id FROM fits WHERE status = 0 AND batch_id = 'b-1' LIMIT 1"))!;
        await fits.TryStartAsync(queued, T0.AddMinutes(1), None);
        Assert.True(await fits.CompleteAsync(queued, new FitCompletion(FitStatus.Succeeded, "steps", 3, [1, 2], 0.5, [0.5], null, T0.AddMinutes(2), "{\"gap\":1}"), None));
        Assert.Equal("{\"gap\":1}", (await fits.GetForWorkerAsync(queued, None))!.OutcomeJson);
        Assert.Equal(DBNull.Value, await ScalarAsync($"SELECT outcome FROM fits WHERE id = '{queued}'"));
        Assert.Equal("{\"gap\":1}", await ScalarAsync($"SELECT outcome FROM fit_outcomes WHERE fit_id = '{queued}'"));
        Assert.Equal("{\"gap\":1}", (await fits.ListBatchFitsAsync("t1", "b-1", None)).Single(f => f.Id == queued).OutcomeJson);

        Assert.True(await fits.DeleteAsync("t1", "f-succeeded", None));
        Assert.Equal(0L, await ScalarAsync("SELECT COUNT(*) FROM fit_outcomes WHERE fit_id = 'f-succeeded'"));
    }

    /// <summary>
    /// Schema 11 finds unfinished fits by <c>finished_at IS NULL</c> rather than by status: on a file written by older
    /// stores the quota's count, the queued gauge, recovery's list and a batch's completion still see exactly the fits
    /// whose status is queued or running.
    /// </summary>
    [Fact]
    public async Task OnAMigratedFileTheUnfinishedFitsAreExactlyThoseQueuedOrRunning()
    {
        var (db, fits, path) = await MigratedFixtureAsync();
        await using var _ = db;

        await using var conn = new SqliteConnection($"Data Source={path}");
        await conn.OpenAsync();
        async Task<List<string>> IdsAsync(string where)
        {
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = $"SELECT id FROM fits WHERE {where} ORDER BY seq";
            var ids = new List<string>();
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) ids.Add(reader.GetString(0));
            return ids;
        }
        var unfinished = await IdsAsync("status < 2");
        Assert.NotEmpty(unfinished);
        Assert.NotEmpty(await IdsAsync("status >= 2"));

        Assert.Equal(unfinished, await fits.ListUnfinishedAsync(None));
        Assert.Equal((await IdsAsync("tenant = 't1' AND status < 2")).Count, await fits.CountActiveAsync("t1", None));
        Assert.Equal((await IdsAsync("status = 0")).Count, await fits.CountQueuedAsync(None));
        Assert.Equal((await IdsAsync("batch_id = 'b-1' AND status < 2")).Count > 0, await fits.HasUnfinishedFitsAsync("b-1", None));
        Assert.Empty(await IdsAsync("(status < 2) = (finished_at IS NOT NULL)"));

        // A start changes none of it; an end takes the fit out of every count.
        var queued = (await IdsAsync("status = 0 AND batch_id = 'b-1'"))[0];
        Assert.Equal(StartOutcome.Run, (await fits.TryStartAsync(queued, T0.AddMinutes(1), None)).Outcome);
        Assert.Equal(unfinished, await fits.ListUnfinishedAsync(None));
        Assert.True(await fits.CompleteAsync(queued, new FitCompletion(FitStatus.Succeeded, "steps", 3, [1, 2], 0.5, [0.5], null, T0.AddMinutes(2)), None));
        Assert.Equal(unfinished.Where(id => id != queued), await fits.ListUnfinishedAsync(None));
        Assert.Equal((await IdsAsync("tenant = 't1' AND status < 2")).Count, await fits.CountActiveAsync("t1", None));
        Assert.Equal((await IdsAsync("batch_id = 'b-1' AND status < 2")).Count > 0, await fits.HasUnfinishedFitsAsync("b-1", None));
    }

    /// <summary>A copy of the fixture, brought to the current version by a store over it.</summary>
    private async Task<(SqliteDatabase Db, SqliteFitStore Fits, string Path)> MigratedFixtureAsync()
    {
        var path = Path.Combine(_folder, "before-versions.db");
        File.Copy(Path.Combine(Fixtures, "fits-before-user-version.db"), path);
        var db = new SqliteDatabase($"Data Source={path}", _folder);
        var fits = new SqliteFitStore(db);
        await fits.InitializeAsync(None);
        return (db, fits, path);
    }

    private static async Task<long> UserVersionAsync(string path)
    {
        await using var conn = new SqliteConnection($"Data Source={path}");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA user_version";
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>Every table's columns (name, type, null, default, key), index and trigger, in a fixed order (not the order columns were added in).</summary>
    private static async Task<string> SchemaAsync(string path)
    {
        await using var conn = new SqliteConnection($"Data Source={path}");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = """
            SELECT m.type || ' ' || m.name || ' on ' || m.tbl_name || COALESCE(' ' || c.name || ' ' || c.type || ' ' || c."notnull" || ' ' || COALESCE(c.dflt_value, '') || ' ' || c.pk, '')
            FROM sqlite_master m LEFT JOIN pragma_table_info(m.name) c ON m.type = 'table'
            WHERE m.name NOT LIKE 'sqlite_%'
            ORDER BY 1
            """;
        var lines = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) lines.Add(reader.GetString(0));
        return string.Join("\n", lines);
    }

    /// <summary>Fits in every state, with history, weights, an outcome, a batch with a key, a finder run and a delivered webhook.</summary>
    private static async Task WriteScenarioAsync(IFitStore fits, IDeliveryStore deliveries)
    {
        NewFit Fit(string id, string? key = null, string? batch = null, double[]? weights = null, string kind = FitKinds.Fit, string? trace = null) =>
            new(id, "t1", T0, "{\"degree\":1,\"webhook\":{\"url\":\"https://hooks.example/fits\"}}", [0, 0.5, 1], [1, 2.5, 4.25],
                Steps: 40, HistoryEvery: 2, Label: "lesson", IdempotencyKey: key, RequestHash: "h-" + id, BatchId: batch, Kind: kind,
                Weights: weights, TraceParent: trace);
        FitCompletion End(FitStatus status, string reason, double? loss, string? error = null, string? outcome = null, bool pending = false) =>
            new(status, reason, 40, [1.5, -0.25], loss, [9, 4, 1, 0.5], error, T0.AddSeconds(30), outcome) { OptimumPending = pending };

        await fits.CreateAsync(Fit("f-queued", key: "key-1", weights: [1, 2, 0.5], trace: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), None);
        await fits.CreateAsync(Fit("f-running"), None);
        var running = await fits.TryStartAsync("f-running", T0.AddSeconds(1), None);
        await fits.SaveProgressAsync("f-running", new FitProgressUpdate(running.Attempt, 4, [0.5, 0.25], 2.5, 0, [9, 7]), None);
        await fits.SaveProgressAsync("f-running", new FitProgressUpdate(running.Attempt, 8, [0.75, 0.5], 1.25, 2, [5, 3]), None);
        foreach (var (id, end) in new[]
        {
            ("f-succeeded", End(FitStatus.Succeeded, "converged", 0.125, outcome: "{\"optimumPending\":true}", pending: true)),
            ("f-failed", End(FitStatus.Failed, "diverged", double.NaN, error: "loss is not finite")),
        })
        {
            await fits.CreateAsync(Fit(id), None);
            await fits.TryStartAsync(id, T0.AddSeconds(2), None);
            await fits.CompleteAsync(id, end, None);
        }
        await fits.CreateAsync(Fit("f-cancelled"), None);
        await fits.RequestCancelAsync("t1", "f-cancelled", T0.AddSeconds(3), None);
        await fits.CreateAsync(Fit("f-cancel-requested"), None);
        await fits.TryStartAsync("f-cancel-requested", T0.AddSeconds(4), None);
        await fits.RequestCancelAsync("t1", "f-cancel-requested", T0.AddSeconds(5), None);
        await fits.CreateBatchAsync(new NewBatch("b-1", "t1", T0, "batch", "{\"webhook\":null}", "batch-key", "batch-hash"),
            [Fit("f-batch-1", batch: "b-1", weights: [1, 1, 3]), Fit("f-batch-2", batch: "b-1")], None);
        await fits.CreateAsync(Fit("r-finder", kind: FitKinds.LearningRateFinder), None);

        var e = await deliveries.CreateEventAsync(new NewWebhookEvent("msg_f-succeeded", "f-succeeded", "t1", "https://hooks.example/fits",
            "fit.succeeded", "{\"type\":\"fit.succeeded\"}", T0.AddSeconds(31)), None);
        var claim = await deliveries.TryClaimAsync(e.Id, T0.AddSeconds(32), T0.AddSeconds(32), T0.AddSeconds(62), None);
        await deliveries.RecordAttemptAsync(e.Id, new DeliveryAttempt(claim!.Attempt, T0.AddSeconds(32), TimeSpan.FromMilliseconds(250), 200, null),
            DeliveryState.Delivered, null, None);
    }

    /// <summary>Everything the scenario stored, as the stores read it back.</summary>
    private static async Task<string> SnapshotAsync(IFitStore fits, IDeliveryStore deliveries)
    {
        var snapshot = new List<object?>();
        foreach (var id in FitIds)
        {
            snapshot.Add(await fits.GetForWorkerAsync(id, None));
            snapshot.Add(await fits.GetPointsAsync(id, None));
            snapshot.Add((await fits.GetHistoryAsync("t1", id, 0, 100, None))?.Page);
        }
        snapshot.Add(await fits.GetAsync("t1", "f-running", includeHistory: true, None));
        snapshot.Add(await fits.GetFinderRunAsync("t1", "r-finder", None));
        snapshot.Add(await fits.GetBatchAsync("t1", "b-1", None));
        snapshot.Add(await fits.CreateBatchAsync(new NewBatch("b-2", "t1", T0, null, "{}", "batch-key", "batch-hash"), [], None));
        snapshot.Add(await fits.CreateAsync(new NewFit("f-other", "t1", T0, "{}", [1], [1], 1, 1, null, "key-1", "h-f-queued"), None));
        snapshot.Add(await fits.ListPendingOptimaAsync(T0.AddHours(1), 10, None));
        snapshot.Add(await fits.ListUnfinishedAsync(None));
        snapshot.Add(await deliveries.GetEventForFitAsync("f-succeeded", None));
        snapshot.Add(await deliveries.ListAttemptsAsync("msg_f-succeeded", None));
        return JsonSerializer.Serialize(snapshot, SnapshotJson);
    }

    /// <summary>Indented for a readable fixture; NaN (a failed fit's params) written as a literal.</summary>
    private static readonly JsonSerializerOptions SnapshotJson = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }
}
