using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Npgsql;

namespace FitService.Api.Tests.Storage;

/// <summary>The delivery store contract over a real PostgreSQL server, each test in a fresh database of the shared cluster.</summary>
[Collection(PostgresCollection.Name)]
[RequiresPostgres]
public sealed class PostgresDeliveryStoreTests(PostgresCluster cluster) : DeliveryStoreContract, IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _stores = [];
    private string _database = "";

    protected override Task<long> CountAsync(string sql) => ScalarAsync<long>(_database, sql);

    protected override async Task<(IFitStore Fits, IDeliveryStore Deliveries)> NewStoresAsync()
    {
        _database = await NewDatabaseAsync();
        var (fits, deliveries) = NewStores(_database);
        await fits.InitializeAsync(None);
        await deliveries.InitializeAsync(None);
        return (fits, deliveries);
    }

    [PostgresFact]
    public async Task ManyProcessesStartingAtOnceCreateBothSchemasOnce()
    {
        var database = await NewDatabaseAsync();
        var processes = Enumerable.Range(0, 6).Select(_ => NewStores(database)).ToArray();

        // Each process initialises its fit store, then its delivery store, all at once.
        await Task.WhenAll(processes.Select(p => Task.Run(async () =>
        {
            await p.Fits.InitializeAsync(None);
            await p.Deliveries.InitializeAsync(None);
        })));

        Assert.Equal(PostgresDeliveryStore.SchemaVersion, await ScalarAsync<long>(database, "SELECT COUNT(*) FROM webhook_schema_versions"));
        Assert.Equal(PostgresFitStore.SchemaVersion, await ScalarAsync<long>(database, "SELECT COUNT(*) FROM fit_schema_versions"));
        Assert.Equal(2, await ScalarAsync<long>(database,
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name IN ('webhook_events', 'webhook_attempts')"));
        Assert.Equal("timestamp with time zone", await ScalarAsync<string>(database,
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'webhook_events' AND column_name = 'next_attempt_at'"));
        var e = await processes[^1].Deliveries.CreateEventAsync(AnEvent(), None);
        Assert.Equal(e, await processes[0].Deliveries.GetEventAsync(e.Id, None));
    }

    [PostgresFact]
    public async Task ProcessesClaimingOneAttemptAtOnceHaveOneWinner()
    {
        var database = await NewDatabaseAsync();
        var processes = Enumerable.Range(0, 4).Select(_ => NewStores(database)).ToArray();
        await processes[0].Fits.InitializeAsync(None);
        await processes[0].Deliveries.InitializeAsync(None);
        var e = await processes[0].Deliveries.CreateEventAsync(AnEvent(), None);

        for (var round = 1; round <= 3; round++)
        {
            // Connections already open, then all released at once.
            await Task.WhenAll(Enumerable.Range(0, 24).Select(i => processes[i % processes.Length].Deliveries.GetEventAsync(e.Id, None)));
            var at = T0.AddMinutes(round);
            using var go = new ManualResetEventSlim();
            var racers = Enumerable.Range(0, 24).Select(i => Task.Run(() =>
            {
                go.Wait();
                return processes[i % processes.Length].Deliveries.TryClaimAsync(e.Id, at, at, at.AddSeconds(30), None);
            })).ToArray();
            go.Set();
            var claims = await Task.WhenAll(racers);

            var winner = Assert.Single(claims, c => c is not null)!;
            Assert.Equal(round, winner.Attempt);
            await processes[round % processes.Length].Deliveries.RecordAttemptAsync(e.Id, new DeliveryAttempt(round, at, TimeSpan.FromMilliseconds(5), 500, null),
                DeliveryState.Pending, at.AddSeconds(1), None);
        }
        Assert.Equal([1, 2, 3], (await processes[0].Deliveries.ListAttemptsAsync(e.Id, None)).Select(a => a.Attempt));
    }

    [PostgresFact]
    public async Task ProcessesCreatingOneFitsEventAtOnceMakeOne()
    {
        var database = await NewDatabaseAsync();
        var processes = Enumerable.Range(0, 4).Select(_ => NewStores(database)).ToArray();
        await processes[0].Fits.InitializeAsync(None);
        await processes[0].Deliveries.InitializeAsync(None);
        var e = AnEvent();

        var created = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() =>
            processes[i % processes.Length].Deliveries.CreateEventAsync(e with { Payload = $"{{\"n\":{i}}}" }, None))));

        Assert.Single(created.Select(c => c.Payload).Distinct());
        Assert.Equal(1, await ScalarAsync<long>(database, "SELECT COUNT(*) FROM webhook_events"));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
    }

    private async Task<string> NewDatabaseAsync() =>
        // A modest pool per store keeps many stores within the server's max_connections.
        new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync("deliveries")) { MaxPoolSize = 30 }.ConnectionString;

    private (PostgresFitStore Fits, PostgresDeliveryStore Deliveries) NewStores(string connectionString)
    {
        var fits = new PostgresFitStore(connectionString);
        var deliveries = new PostgresDeliveryStore(connectionString);
        _stores.Add(fits);
        _stores.Add(deliveries);
        return (fits, deliveries);
    }

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
