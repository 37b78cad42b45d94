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

    private static readonly DateTimeOffset Created = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static (NewBatch Batch, List<NewFit> Fits) ABigBatch(int count = 2 * SqliteFitStore.BatchSliceFits + 100)
    {
        var batchId = Guid.NewGuid().ToString("N");
        var fits = Enumerable.Range(0, count).Select(i => new NewFit(Guid.NewGuid().ToString("N"), "t1", Created, "{\"degree\":1}",
            [0.0, 1.0], [i, i + 1.0], Steps: 10, HistoryEvery: 1, Label: $"item-{i}", IdempotencyKey: null, RequestHash: "h", BatchId: batchId)).ToList();
        return (new NewBatch(batchId, "t1", Created, null, "{}"), fits);
    }

    [Fact]
    public async Task ABigBatchIsStoredInSlicesEachHandedOnOnceCommittedAndTheBatchIsReadableOnlyOnceWhole()
    {
        var store = (SqliteFitStore)await NewStoreAsync();
        var (batch, fits) = ABigBatch();
        var handedOn = new List<int>();
        var readableEarly = new List<bool>();
        var storedEarly = new List<bool>();

        var created = await store.CreateBatchAsync(batch, fits, count =>
        {
            handedOn.Add(count);
            readableEarly.Add(store.GetBatchAsync("t1", batch.Id, CancellationToken.None).GetAwaiter().GetResult() is not null);
            storedEarly.Add(store.GetForWorkerAsync(fits[count - 1].Id, CancellationToken.None).GetAwaiter().GetResult() is { Status: FitStatus.Queued });
        }, CancellationToken.None);

        Assert.Equal(CreateOutcome.Created, created.Outcome);
        Assert.Equal([SqliteFitStore.BatchSliceFits, 2 * SqliteFitStore.BatchSliceFits], handedOn);
        Assert.All(readableEarly, Assert.False);
        Assert.All(storedEarly, Assert.True);
        var stored = await store.GetBatchAsync("t1", batch.Id, CancellationToken.None);
        Assert.Equal(fits.Select(f => f.Id), stored!.FitIds);
        Assert.Equal(fits.Count, stored.Counts[FitStatus.Queued]);
        await store.DropUnacceptedBatchesAsync(CancellationToken.None);
        Assert.Equal(fits.Count, (await store.GetBatchAsync("t1", batch.Id, CancellationToken.None))!.Total);
    }

    [Fact]
    public async Task ABatchWhoseRequestFailsWhileItsSlicesAreStoredLeavesNothing()
    {
        var store = (SqliteFitStore)await NewStoreAsync();
        var (batch, fits) = ABigBatch();

        await Assert.ThrowsAsync<OperationCanceledException>(() => store.CreateBatchAsync(batch, fits, count =>
        {
            if (count > SqliteFitStore.BatchSliceFits) throw new OperationCanceledException("the client went away");
        }, CancellationToken.None));

        Assert.Null(await store.GetBatchAsync("t1", batch.Id, CancellationToken.None));
        Assert.Empty(await store.ListAsync("t1", new FitQuery(null, null, 10, null), CancellationToken.None));
        Assert.Empty(await store.ListUnfinishedAsync(CancellationToken.None));
        Assert.Null(await store.GetPointsAsync(fits[0].Id, CancellationToken.None));
    }

    [Fact]
    public async Task ABatchStillBeingStoredWhenAnotherProcessStartsIsDroppedAndItsRequestFailsAsBusyRatherThanAcceptAPart()
    {
        var store = (SqliteFitStore)await NewStoreAsync();
        var (batch, fits) = ABigBatch();
        // What recovery at another process's start does, on the same file, while the first slice is stored.
        var other = new SqliteFitStore($"Data Source={store.DatabasePath}", _folder);
        _stores.Add(other);

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => store.CreateBatchAsync(batch, fits, count =>
        {
            if (count == SqliteFitStore.BatchSliceFits) other.DropUnacceptedBatchesAsync(CancellationToken.None).GetAwaiter().GetResult();
        }, CancellationToken.None));

        Assert.Equal(503, Http.StorageExceptionHandler.Classify(failure)?.Status);
        Assert.Null(await store.GetBatchAsync("t1", batch.Id, CancellationToken.None));
        Assert.Empty(await store.ListAsync("t1", new FitQuery(null, null, 10, null), CancellationToken.None));
        Assert.Empty(await store.ListUnfinishedAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AFitDeletedByItsClientWhileItsBatchIsStoredDoesNotFailTheBatch()
    {
        // A big batch's first fits are listed (GET /v1/fits) while the rest are stored; a client may delete one, as it may
        // delete a fit of any batch. That is the client's act, not another process dropping the batch: the batch is accepted
        // without that fit (it failed as "busy: locked by another process" with nothing stored).
        var store = (SqliteFitStore)await NewStoreAsync();
        var (batch, fits) = ABigBatch();

        var created = await store.CreateBatchAsync(batch, fits, count =>
        {
            if (count == SqliteFitStore.BatchSliceFits) Assert.True(store.DeleteAsync("t1", fits[3].Id, CancellationToken.None).GetAwaiter().GetResult());
        }, CancellationToken.None);

        Assert.Equal(CreateOutcome.Created, created.Outcome);
        var stored = await store.GetBatchAsync("t1", batch.Id, CancellationToken.None);
        Assert.Equal(fits.Where((_, i) => i != 3).Select(f => f.Id), stored!.FitIds);
        await store.DropUnacceptedBatchesAsync(CancellationToken.None);
        Assert.Equal(fits.Count - 1, (await store.GetBatchAsync("t1", batch.Id, CancellationToken.None))!.Total);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
