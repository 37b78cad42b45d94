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

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
