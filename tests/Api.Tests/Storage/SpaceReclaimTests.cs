using FitService.Api.Jobs;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FitService.Api.Tests.Storage;

/// <summary>
/// What retention removes leaves the database: SQLite gives the freed pages back to the file system, and the webhook
/// deliveries of removed fits go with them (SQLite and PostgreSQL). Days pass on a clock of the test's own.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SpaceReclaimTests(PostgresCluster cluster)
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>A succeeded fit of <paramref name="points"/> points, with a delivered webhook event; returns the event id.</summary>
    private static async Task<string> EndedFitWithWebhookAsync(IFitStore fits, IDeliveryStore deliveries, DateTimeOffset at, int points)
    {
        var id = Guid.NewGuid().ToString("N");
        var x = Enumerable.Range(0, points).Select(i => i * 0.001).ToArray();
        await fits.CreateAsync(new NewFit(id, "t1", at, "{\"degree\":2}", x, x, 10, 1, null, null, "h"), None);
        await fits.TryStartAsync(id, at, None);
        await fits.CompleteAsync(id, new FitCompletion(FitStatus.Succeeded, "steps", 10, [1, 2, 3], 0.5, new double[10], null, at), None);
        var e = await deliveries.CreateEventAsync(new NewWebhookEvent("msg_" + id, id, "t1", "https://example.test/hook", "fit.succeeded",
            new string('p', 2000), at), None);
        var claim = await deliveries.TryClaimAsync(e.Id, at, at, at.AddMinutes(1), None);
        await deliveries.RecordAttemptAsync(e.Id, new DeliveryAttempt(claim!.Attempt, at, TimeSpan.FromMilliseconds(5), 200, null),
            DeliveryState.Delivered, null, None);
        return e.Id;
    }

    private static RetentionSweeper Sweeper(IFitStore store, TimeProvider clock) =>
        new(store, Options.Create(new RetentionOptions { SucceededDays = 3, BatchSize = 50 }), clock, NullLogger<RetentionSweeper>.Instance);

    [Fact]
    public async Task RetentionGivesTheSpaceOfExpiredFitsBackToTheFileSystem()
    {
        var folder = Directory.CreateTempSubdirectory("space-").FullName;
        try
        {
            var clock = new ManualClock(Start);
            await using (var db = new SqliteDatabase("Data Source=fits.db", folder))
            {
                var fits = new SqliteFitStore(db);
                var deliveries = new SqliteDeliveryStore(db);
                await fits.InitializeAsync(None);
                await deliveries.InitializeAsync(None);
                var empty = await PagesAsync(db.Path);
                for (var i = 0; i < 100; i++) await EndedFitWithWebhookAsync(fits, deliveries, clock.Now, points: 2000);
                var loaded = await PagesAsync(db.Path);

                clock.Now = clock.Now.AddDays(4);
                Assert.Equal(100, await Sweeper(fits, clock).SweepAsync(None));
                var swept = await PagesAsync(db.Path);

                // 100 fits × 2 × 2,000 doubles is about 800 pages of 4 KB; what is left is the empty schema and a few pages.
                Assert.True(loaded.Pages - empty.Pages > 700, $"the load took only {loaded.Pages - empty.Pages} pages");
                Assert.True(swept.Pages < empty.Pages + 50, $"pages: empty {empty.Pages}, loaded {loaded.Pages}, after the sweep {swept.Pages} ({swept.Free} free)");
                Assert.Equal(0, swept.Free);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task AFileMadeWithoutIncrementalVacuumIsConvertedWhenTheServiceOpensIt()
    {
        var folder = Directory.CreateTempSubdirectory("space-").FullName;
        try
        {
            var path = Path.Combine(folder, "fits.db");
            await using (var old = new SqliteConnection($"Data Source={path}"))
            {
                await old.OpenAsync();
                await using var create = old.CreateCommand();
                create.CommandText = "CREATE TABLE leftover (x INTEGER); INSERT INTO leftover VALUES (1);";
                await create.ExecuteNonQueryAsync();
            }
            await using (var db = new SqliteDatabase("Data Source=fits.db", folder))
            {
                await new SqliteFitStore(db).InitializeAsync(None);
            }
            SqliteConnection.ClearAllPools();

            await using var check = new SqliteConnection($"Data Source={path}");
            await check.OpenAsync();
            await using var mode = check.CreateCommand();
            mode.CommandText = "PRAGMA auto_vacuum";
            Assert.Equal(2L, (long)(await mode.ExecuteScalarAsync())!); // INCREMENTAL
            mode.CommandText = "SELECT x FROM leftover";
            Assert.Equal(1L, (long)(await mode.ExecuteScalarAsync())!);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task WebhookDeliveriesOfExpiredFitsGoWithThemOnSqlite()
    {
        var folder = Directory.CreateTempSubdirectory("space-").FullName;
        try
        {
            var clock = new ManualClock(Start);
            await using var db = new SqliteDatabase("Data Source=fits.db", folder);
            var fits = new SqliteFitStore(db);
            var deliveries = new SqliteDeliveryStore(db);
            await fits.InitializeAsync(None);
            await deliveries.InitializeAsync(None);
            await AssertDeliveriesFollowRetentionAsync(fits, deliveries, clock);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [PostgresFact]
    public async Task WebhookDeliveriesOfExpiredFitsGoWithThemOnPostgres()
    {
        var database = await cluster.CreateDatabaseAsync("retention");
        await using var fits = new PostgresFitStore(database);
        await using var deliveries = new PostgresDeliveryStore(database);
        await fits.InitializeAsync(None);
        await deliveries.InitializeAsync(None);
        await AssertDeliveriesFollowRetentionAsync(fits, deliveries, new ManualClock(Start));

        await using var conn = new NpgsqlConnection(database);
        await conn.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT (SELECT COUNT(*) FROM webhook_events) + (SELECT COUNT(*) FROM webhook_attempts)", conn);
        Assert.Equal(2L, (long)(await count.ExecuteScalarAsync())!); // the kept fit's event and its one attempt
    }

    private static async Task AssertDeliveriesFollowRetentionAsync(IFitStore fits, IDeliveryStore deliveries, ManualClock clock)
    {
        var expiring = await EndedFitWithWebhookAsync(fits, deliveries, clock.Now, points: 10);
        clock.Now = clock.Now.AddDays(2);
        var kept = await EndedFitWithWebhookAsync(fits, deliveries, clock.Now, points: 10);
        clock.Now = clock.Now.AddDays(2);

        Assert.Equal(1, await Sweeper(fits, clock).SweepAsync(None));

        Assert.Null(await deliveries.GetEventAsync(expiring, None));
        Assert.Empty(await deliveries.ListAttemptsAsync(expiring, None));
        Assert.NotNull(await deliveries.GetEventAsync(kept, None));
        Assert.Single(await deliveries.ListAttemptsAsync(kept, None));
    }

    private static async Task<(long Pages, long Free)> PagesAsync(string path)
    {
        await using var conn = new SqliteConnection($"Data Source={path};Pooling=False");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA page_count";
        var pages = (long)(await cmd.ExecuteScalarAsync())!;
        cmd.CommandText = "PRAGMA freelist_count";
        return (pages, (long)(await cmd.ExecuteScalarAsync())!);
    }
}
