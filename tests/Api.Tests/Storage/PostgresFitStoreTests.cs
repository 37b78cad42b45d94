using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Npgsql;

namespace FitService.Api.Tests.Storage;

/// <summary>The store contract over a real PostgreSQL server, each test in a fresh database of the shared cluster.</summary>
[Collection(PostgresCollection.Name)]
[RequiresPostgres]
public sealed class PostgresFitStoreTests(PostgresCluster cluster) : FitStoreContract, IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 15, 2, 123, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly List<PostgresFitStore> _stores = [];
    private string? _database;

    protected override async Task<IFitStore> NewStoreAsync()
    {
        var store = NewStore(await NewDatabaseAsync());
        await store.InitializeAsync(None);
        return store;
    }

    [PostgresFact]
    public async Task ManyProcessesStartingAtOnceCreateTheSchemaOnce()
    {
        var database = await NewDatabaseAsync();
        var stores = Enumerable.Range(0, 8).Select(_ => NewStore(database)).ToArray();

        await Task.WhenAll(stores.Select(s => Task.Run(() => s.InitializeAsync(None))));

        Assert.Equal(PostgresFitStore.SchemaVersion, await ScalarAsync<long>(database, "SELECT COUNT(*) FROM fit_schema_versions"));
        Assert.Equal(3, await ScalarAsync<long>(database,
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name IN ('fits', 'fit_points', 'fit_history')"));
        await stores[^1].CreateAsync(AFit(), None);
        await stores[0].PingAsync(None);
    }

    [PostgresFact]
    public async Task ConcurrentCreatesWithOneIdempotencyKeyMakeOneFit()
    {
        var database = await NewDatabaseAsync();
        var stores = Enumerable.Range(0, 4).Select(_ => NewStore(database)).ToArray();
        await stores[0].InitializeAsync(None);

        // Several processes (stores) with several requests each, connections already open, released at once.
        await Task.WhenAll(Enumerable.Range(0, 24).Select(i => stores[i % stores.Length].PingAsync(None)));
        using var go = new ManualResetEventSlim();
        var racers = Enumerable.Range(0, 24).Select(i => Task.Run(() =>
        {
            go.Wait();
            return stores[i % stores.Length].CreateAsync(AFit(key: "same-key"), None);
        })).ToArray();
        go.Set();
        var results = await Task.WhenAll(racers);

        Assert.Single(results, r => r.Outcome == CreateOutcome.Created);
        Assert.All(results, r => Assert.NotEqual(CreateOutcome.Conflict, r.Outcome));
        Assert.Single(results.Select(r => r.Fit!.Id).Distinct());
        Assert.Equal(1, await ScalarAsync<long>(database, "SELECT COUNT(*) FROM fits"));
        Assert.Equal(1, await ScalarAsync<long>(database, "SELECT COUNT(*) FROM fit_points"));
    }

    [PostgresFact]
    public async Task PointsAreStoredAsBinaryEightBytesAValue()
    {
        var store = await NewStoreAsync();
        var fit = AFit(points: 1000);
        await store.CreateAsync(fit, None);

        Assert.Equal("bytea", await ScalarAsync<string>(_database!,
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'fit_points' AND column_name = 'x'"));
        Assert.Equal(16 * 1000, await ScalarAsync<int>(_database!,
            $"SELECT octet_length(x) + octet_length(y) FROM fit_points WHERE fit_id = '{fit.Id}'"));
    }

    [PostgresFact]
    public async Task ProgressAddsHistoryChunksAndCompletionLeavesOne()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        await store.CreateAsync(fit, None);
        var start = await store.TryStartAsync(fit.Id, T0, None);
        for (var i = 0; i < 3; i++)
        {
            await store.SaveProgressAsync(fit.Id, new FitProgressUpdate(start.Attempt, 2 * i + 2, [1, 2, 3], 1, 2 * i, [i, i]), None);
        }
        var chunks = $"SELECT COUNT(*) FROM fit_history WHERE fit_id = '{fit.Id}'";
        Assert.Equal(3, await ScalarAsync<long>(_database!, chunks));
        var running = await store.GetAsync("t1", fit.Id, true, None);
        Assert.Equal([0.0, 0, 1, 1, 2, 2], running!.History!);

        await store.CompleteAsync(fit.Id, new FitCompletion(FitStatus.Succeeded, "steps", 6, [1, 2, 3], 1, [6, 5, 4, 3, 2, 1], null, T0), None);
        Assert.Equal(1, await ScalarAsync<long>(_database!, chunks));
        var page = await store.GetHistoryAsync("t1", fit.Id, 2, 2, None);
        Assert.Equal([4.0, 3], page!.Value.Page);
    }

    [PostgresFact]
    public async Task TimesKeepTheirMillisecondsWhateverTheOffset()
    {
        var store = await NewStoreAsync();
        var local = new DateTimeOffset(2026, 11, 28, 11, 15, 2, 123, TimeSpan.FromHours(2)).AddTicks(4567);
        var fit = AFit() with { CreatedAt = local };
        await store.CreateAsync(fit, None);
        await store.TryStartAsync(fit.Id, local.AddMilliseconds(1), None);

        var got = await store.GetAsync("t1", fit.Id, false, None);
        Assert.Equal(T0, got!.CreatedAt);
        Assert.Equal(TimeSpan.Zero, got.CreatedAt.Offset);
        Assert.Equal(T0.AddMilliseconds(1), got.StartedAt);
    }

    [PostgresFact]
    public async Task DeletingAFitRemovesItsPointsAndHistory()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        await store.CreateAsync(fit, None);
        var start = await store.TryStartAsync(fit.Id, T0, None);
        await store.SaveProgressAsync(fit.Id, new FitProgressUpdate(start.Attempt, 1, [1, 2, 3], 1, 0, [1]), None);

        Assert.True(await store.DeleteAsync("t1", fit.Id, None));
        Assert.Equal(0, await ScalarAsync<long>(_database!, "SELECT (SELECT COUNT(*) FROM fit_points) + (SELECT COUNT(*) FROM fit_history)"));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
    }

    private async Task<string> NewDatabaseAsync()
    {
        // A modest pool per store keeps many stores within the server's max_connections.
        var connectionString = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync("store")) { MaxPoolSize = 40 }.ConnectionString;
        _database ??= connectionString;
        return connectionString;
    }

    private PostgresFitStore NewStore(string connectionString)
    {
        var store = new PostgresFitStore(connectionString);
        _stores.Add(store);
        return store;
    }

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static NewFit AFit(string? key = null, int points = 3) =>
        new(Guid.NewGuid().ToString("N"), "t1", T0, "{\"degree\":2}",
            Enumerable.Range(0, points).Select(i => i * 0.5).ToArray(),
            Enumerable.Range(0, points).Select(i => i * 1.5 + 1).ToArray(),
            Steps: 10, HistoryEvery: 1, Label: null, key, RequestHash: "h1");
}
