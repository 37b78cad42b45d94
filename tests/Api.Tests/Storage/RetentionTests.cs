using FitService.Api.Jobs;
using FitService.Api.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FitService.Api.Tests.Storage;

/// <summary>Under a steady load the retention sweep keeps the database at a steady size (days pass on a clock of the test's own).</summary>
public sealed class RetentionTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("retention-").FullName;
    private SqliteDatabase _database = null!;
    private SqliteFitStore _store = null!;

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task ASteadyLoadKeepsTheDatabaseSizeFlat()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var retention = new RetentionOptions { SucceededDays = 3, BatchSize = 50 };
        var sweeper = new RetentionSweeper(_store, Options.Create(retention), clock, NullLogger<RetentionSweeper>.Instance);
        var sizes = new List<long>();

        for (var day = 0; day < 16; day++)
        {
            // A day's load: fits of 2,000 points (32 KB of points each) that run and succeed.
            await Task.WhenAll(Enumerable.Range(0, 60).Select(async _ =>
            {
                var id = Guid.NewGuid().ToString("N");
                var x = Enumerable.Range(0, 2000).Select(i => i * 0.001).ToArray();
                await _store.CreateAsync(new NewFit(id, "t1", clock.Now, "{\"degree\":2}", x, x, 10, 1, null, null, "h"), CancellationToken.None);
                await _store.TryStartAsync(id, clock.Now, CancellationToken.None);
                await _store.CompleteAsync(id, new FitCompletion(FitStatus.Succeeded, "steps", 10, [1, 2, 3], 0.5, new double[500], null, clock.Now),
                    CancellationToken.None);
            }));
            clock.Now = clock.Now.AddDays(1);
            await sweeper.SweepAsync(CancellationToken.None);
            sizes.Add(SizeOnDisk());
        }

        // Three days kept: from then on each day's new fits take the room the expired ones left (SQLite reuses free pages).
        Assert.True(sizes[^1] <= sizes[5] * 1.3, $"sizes by day: {string.Join(", ", sizes)}");
        // Without the sweep the file would have grown by what days 6 to 16 stored: more than it held on day 5.
        const long pointsPerDay = 60 * 2 * 2000 * sizeof(double);
        Assert.True(10 * pointsPerDay > sizes[5], $"the load is too small to show growth: {sizes[5]} bytes on day 5");
    }

    private long SizeOnDisk() => new FileInfo(_store.DatabasePath).Length + (File.Exists(_store.DatabasePath + "-wal") ? new FileInfo(_store.DatabasePath + "-wal").Length : 0);

    public async Task InitializeAsync()
    {
        // A log of 1 MB (the default is 40): the log is bounded by its own length (WalCheckpointerTests), and this measures
        // the file and its log together with a day's load of about 4 MB.
        _database = new SqliteDatabase("Data Source=fits.db", _folder, logMegabytes: 1);
        _store = new SqliteFitStore(_database);
        await _store.InitializeAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _database.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
