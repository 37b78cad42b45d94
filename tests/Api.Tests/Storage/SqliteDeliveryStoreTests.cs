using FitService.Api.Storage;

namespace FitService.Api.Tests.Storage;

/// <summary>The delivery store contract over a real SQLite file, its writer shared with the fit store as in the service.</summary>
public sealed class SqliteDeliveryStoreTests : DeliveryStoreContract, IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deliverystore-").FullName;
    private readonly List<SqliteDatabase> _databases = [];

    protected override async Task<(IFitStore Fits, IDeliveryStore Deliveries)> NewStoresAsync()
    {
        var db = new SqliteDatabase($"Data Source=deliveries-{_databases.Count}.db", _folder);
        _databases.Add(db);
        var fits = new SqliteFitStore(db);
        var deliveries = new SqliteDeliveryStore(db);
        await fits.InitializeAsync(None);
        await deliveries.InitializeAsync(None);
        return (fits, deliveries);
    }

    protected override async Task<long> CountAsync(string sql)
    {
        await using var conn = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_databases[^1].Path}");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var db in _databases) await db.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
