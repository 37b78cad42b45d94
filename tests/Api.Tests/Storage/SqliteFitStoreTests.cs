using FitService.Api.Storage;

namespace FitService.Api.Tests.Storage;

/// <summary>The store contract over a real SQLite file in a fresh temporary folder.</summary>
public sealed class SqliteFitStoreTests : FitStoreContract, IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fitstore-").FullName;
    private readonly List<SqliteFitStore> _stores = [];

    protected override async Task<IFitStore> NewStoreAsync()
    {
        var store = new SqliteFitStore($"Data Source=fits-{_stores.Count}.db", _folder);
        _stores.Add(store);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    [Fact]
    public async Task RelativePathsAreUnderTheContentRootAndTheFileIsInWalMode()
    {
        var store = (SqliteFitStore)await NewStoreAsync();
        Assert.StartsWith(_folder, store.DatabasePath);
        Assert.True(File.Exists(store.DatabasePath));
        Assert.True(File.Exists(store.DatabasePath + "-wal"));
    }

    [Fact]
    public async Task AFileFromBeforeWeightsGainsTheColumnAndItsFitsReadWithoutWeights()
    {
        var path = Path.Combine(_folder, "before-weights.db");
        await using (var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}"))
        {
            await old.OpenAsync();
            await using var create = old.CreateCommand();
            create.CommandText = "CREATE TABLE fit_points (fit_id TEXT PRIMARY KEY, x BLOB NOT NULL, y BLOB NOT NULL); INSERT INTO fit_points VALUES ('old', $x, $y);";
            create.Parameters.AddWithValue("$x", DoubleBlobs.ToBytes([1.0, 2.0]));
            create.Parameters.AddWithValue("$y", DoubleBlobs.ToBytes([3.0, 4.0]));
            await create.ExecuteNonQueryAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var store = new SqliteFitStore($"Data Source={path}", _folder);
        _stores.Add(store);

        await store.InitializeAsync(CancellationToken.None);

        var points = await store.GetPointsAsync("old", CancellationToken.None);
        Assert.Equal([3.0, 4.0], points!.Y);
        Assert.Null(points.Weights);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
