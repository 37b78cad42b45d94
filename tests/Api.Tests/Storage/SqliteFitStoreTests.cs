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

    /// <summary>A big batch whose fits share the first one's points (the arrays themselves), but for one of every 100.</summary>
    private static (NewBatch Batch, List<NewFit> Fits) ABigBatchSharingItsPoints()
    {
        var (batch, fits) = ABigBatch();
        double[] x = [0.0, 1.0, 2.0], y = [1.0, 3.0, 4.0], w = [1.0, 2.0, 1.0];
        return (batch, [.. fits.Select((f, i) => i % 100 == 7 ? f : f with { X = x, Y = y, Weights = w })]);
    }

    private async Task<long> CountAsync(SqliteFitStore store, string sql)
    {
        await using var conn = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store.DatabasePath}");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task FitsSharingTheirPointsStoreThemOnceUnderTheBatchAndEachReadsThem()
    {
        var store = (SqliteFitStore)await NewStoreAsync();
        var (batch, fits) = ABigBatchSharingItsPoints();
        var own = fits.Where((_, i) => i % 100 == 7).ToList();

        await store.CreateBatchAsync(batch, fits, _ => { }, CancellationToken.None);

        // One row for the batch's shared points, one for each fit with points of its own.
        Assert.Equal(1 + own.Count, await CountAsync(store, "SELECT COUNT(*) FROM fit_points"));
        Assert.Equal(1L, await CountAsync(store, $"SELECT COUNT(*) FROM fit_points WHERE fit_id = '{batch.Id}'"));
        foreach (var i in new[] { 0, 1, 7, SqliteFitStore.BatchSliceFits, fits.Count - 1 })
        {
            AssertPoints(fits[i], await store.GetPointsAsync(fits[i].Id, CancellationToken.None));
        }
        var starts = await store.TryStartManyAsync([.. fits.Take(120).Select(f => f.Id)], At, CancellationToken.None);
        Assert.All(starts.Zip(fits), s => AssertPoints(s.Second, s.First.Points));

        // A fit deleted alone leaves its batch's points to the others; the batch takes them along.
        Assert.True(await store.DeleteAsync("t1", fits[0].Id, CancellationToken.None));
        Assert.Equal(fits[1].Y, (await store.GetPointsAsync(fits[1].Id, CancellationToken.None))!.Y);
        Assert.True(await store.DeleteBatchAsync("t1", batch.Id, CancellationToken.None));
        Assert.Equal(0L, await CountAsync(store, "SELECT COUNT(*) FROM fit_points"));
    }

    private static void AssertPoints(NewFit fit, FitPoints? points)
    {
        Assert.NotNull(points);
        Assert.Equal(fit.X, points.X);
        Assert.Equal(fit.Y, points.Y);
        Assert.Equal(fit.Weights, points.Weights);
    }

    [Fact]
    public async Task ABatchNotAcceptedLeavesNoSharedPoints()
    {
        var store = (SqliteFitStore)await NewStoreAsync();
        var (batch, fits) = ABigBatchSharingItsPoints();

        await Assert.ThrowsAsync<OperationCanceledException>(() => store.CreateBatchAsync(batch, fits, count =>
        {
            if (count > SqliteFitStore.BatchSliceFits) throw new OperationCanceledException("the client went away");
        }, CancellationToken.None));

        Assert.Equal(0L, await CountAsync(store, "SELECT COUNT(*) FROM fit_points"));
        Assert.Equal(0L, await CountAsync(store, "SELECT COUNT(*) FROM fits"));
    }

    private static readonly DateTimeOffset At = new(2026, 12, 1, 11, 0, 0, 250, TimeSpan.Zero);

    private static NewFit AQueuedFit() =>
        new(Guid.CreateVersion7().ToString("N"), "t1", At, "{\"degree\":1}", [0, 1, 2], [1, 3, 5], Steps: 10, HistoryEvery: 1, null, null, "h");

    private static FitCompletion Done(DateTimeOffset at) => new(FitStatus.Succeeded, "steps", 10, [1, 2], 0.5, [3, 2, 1], null, at);

    /// <summary>How many commits other connections have made to the file since <paramref name="conn"/> last looked (SQLite's data_version).</summary>
    private static async Task<long> DataVersionAsync(Microsoft.Data.Sqlite.SqliteConnection conn)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA data_version";
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task AChunksFreshFitsRunWithoutAWriteAndTheirEndStoresTheFirstAttemptAndItsStart()
    {
        var store = (SqliteFitStore)await NewStoreAsync();
        var fresh = AQueuedFit();
        var restarted = AQueuedFit();
        foreach (var fit in new[] { fresh, restarted }) await store.CreateAsync(fit, CancellationToken.None);
        await store.TryStartAsync(restarted.Id, At, CancellationToken.None);
        await using var watcher = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store.DatabasePath}");
        await watcher.OpenAsync();
        var before = await DataVersionAsync(watcher);

        var starts = await store.TryStartManyAsync([fresh.Id], At.AddSeconds(1), CancellationToken.None);

        // The fresh fit runs as its first attempt, and nothing was committed: the row still reads queued, never started.
        Assert.Equal((StartOutcome.Run, 1, false), (starts[0].Start.Outcome, starts[0].Start.Attempt, starts[0].Stored));
        Assert.Equal(At.AddSeconds(1), starts[0].Start.Fit!.StartedAt);
        Assert.Equal(fresh.X, starts[0].Points!.X);
        Assert.Equal(before, await DataVersionAsync(watcher));
        Assert.Equal((FitStatus.Queued, 0, (DateTimeOffset?)null), await StateAsync(fresh.Id));

        // A fit that ran before (a crash, a retry) is still started in a write: its attempt counts, its old history goes.
        var again = await store.TryStartManyAsync([restarted.Id], At.AddSeconds(1), CancellationToken.None);
        Assert.Equal((2, true), (again[0].Start.Attempt, again[0].Stored));
        Assert.NotEqual(before, await DataVersionAsync(watcher));
        Assert.Equal((FitStatus.Running, 2, (DateTimeOffset?)At), await StateAsync(restarted.Id));

        var ended = await store.CompleteManyAsync([(fresh.Id, starts[0].Completing(Done(At.AddSeconds(2)))), (restarted.Id, again[0].Completing(Done(At.AddSeconds(2))))],
            CancellationToken.None);

        Assert.Equal([fresh.Id, restarted.Id], ended);
        Assert.Equal((FitStatus.Succeeded, 1, (DateTimeOffset?)At.AddSeconds(1)), await StateAsync(fresh.Id));
        Assert.Equal((FitStatus.Succeeded, 2, (DateTimeOffset?)At), await StateAsync(restarted.Id));
        var history = (await ((IFitStore)store).GetAsync("t1", fresh.Id, true, CancellationToken.None))!.History!;
        Assert.Equal(new double[] { 3, 2, 1 }, history);

        async Task<(FitStatus, int, DateTimeOffset?)> StateAsync(string id) =>
            (await store.GetForWorkerAsync(id, CancellationToken.None)) is { } f ? (f.Status, f.Attempt, f.StartedAt) : default;
    }

    [Fact]
    public async Task AFreshChunkFitCancelledOrDeletedWhileItRunsStaysAsItsClientLeftIt()
    {
        // Until its chunk ends, a fit whose start was not written reads as queued: a cancellation ends it at once, as for any
        // queued fit, and the chunk's end, which stores only fits that have not ended, must not bring it (or a deleted one) back.
        var store = (SqliteFitStore)await NewStoreAsync();
        var (cancelled, deleted, kept) = (AQueuedFit(), AQueuedFit(), AQueuedFit());
        foreach (var fit in new[] { cancelled, deleted, kept }) await store.CreateAsync(fit, CancellationToken.None);
        var starts = await store.TryStartManyAsync([cancelled.Id, deleted.Id, kept.Id], At, CancellationToken.None);
        Assert.All(starts, s => Assert.False(s.Stored));

        Assert.Equal(CancelOutcome.Cancelled, await store.RequestCancelAsync("t1", cancelled.Id, At.AddSeconds(1), CancellationToken.None));
        Assert.True(await store.DeleteAsync("t1", deleted.Id, CancellationToken.None));
        var ended = await store.CompleteManyAsync([.. starts.Select(s => (s.Id, s.Completing(Done(At.AddSeconds(2)))))], CancellationToken.None);

        Assert.Equal([kept.Id], ended);
        var stillCancelled = (await ((IFitStore)store).GetAsync("t1", cancelled.Id, true, CancellationToken.None))!;
        Assert.Equal((FitStatus.Cancelled, "cancelled", 0), (stillCancelled.Status, stillCancelled.StopReason, stillCancelled.Attempt));
        Assert.Empty(stillCancelled.History!);
        Assert.Null(await ((IFitStore)store).GetAsync("t1", deleted.Id, false, CancellationToken.None));
        Assert.Equal(FitStatus.Succeeded, (await ((IFitStore)store).GetAsync("t1", kept.Id, false, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task AFreshChunkFitThatRunsLongEnoughToSaveProgressReadsRunningWithItFromThenOn()
    {
        // A chunk's fit that runs past the runner's progress interval saves progress like a lone fit: that first save
        // stores the start it skipped, so the fit reads running, its first attempt, with its progress.
        var store = (SqliteFitStore)await NewStoreAsync();
        var (fit, cancelled) = (AQueuedFit(), AQueuedFit());
        foreach (var f in new[] { fit, cancelled }) await store.CreateAsync(f, CancellationToken.None);
        var starts = await store.TryStartManyAsync([fit.Id, cancelled.Id], At, CancellationToken.None);
        Assert.Equal(CancelOutcome.Cancelled, await store.RequestCancelAsync("t1", cancelled.Id, At, CancellationToken.None));

        var progress = new FitProgressUpdate(1, 4, [0.5, 0.25], 2.5, 0, [9, 8, 7, 6]) { StartedAt = starts[0].Start.Fit!.StartedAt };
        Assert.False(await store.SaveProgressAsync(fit.Id, progress, CancellationToken.None));
        // A fit its client cancelled meanwhile is told to stop, and its progress is not stored.
        Assert.True(await store.SaveProgressAsync(cancelled.Id, progress, CancellationToken.None));

        var running = (await ((IFitStore)store).GetAsync("t1", fit.Id, true, CancellationToken.None))!;
        Assert.Equal((FitStatus.Running, 1, (DateTimeOffset?)At, 4, 2.5), (running.Status, running.Attempt, running.StartedAt, running.Step, running.Loss));
        Assert.Equal(new double[] { 9, 8, 7, 6 }, running.History);
        var stillCancelled = (await ((IFitStore)store).GetAsync("t1", cancelled.Id, true, CancellationToken.None))!;
        Assert.Equal((FitStatus.Cancelled, 0, 0), (stillCancelled.Status, stillCancelled.Attempt, stillCancelled.Step));

        Assert.Equal([fit.Id], await store.CompleteManyAsync([.. starts.Select(s => (s.Id, s.Completing(Done(At.AddSeconds(1)))))], CancellationToken.None));
        var ended = (await ((IFitStore)store).GetAsync("t1", fit.Id, true, CancellationToken.None))!;
        Assert.Equal((FitStatus.Succeeded, 1, (DateTimeOffset?)At), (ended.Status, ended.Attempt, ended.StartedAt));
        Assert.Equal(new double[] { 3, 2, 1 }, ended.History);
    }

    [Fact]
    public async Task AFreshChunkFitLeftByACrashIsStillQueuedAndRunsAgainAsItsFirstAttempt()
    {
        var store = (SqliteFitStore)await NewStoreAsync();
        var fit = AQueuedFit();
        await store.CreateAsync(fit, CancellationToken.None);
        await store.TryStartManyAsync([fit.Id], At, CancellationToken.None);

        // The process dies before the chunk's end: what recovery at the next start finds.
        var reopened = new SqliteFitStore($"Data Source={store.DatabasePath}", _folder);
        _stores.Add(reopened);
        await reopened.InitializeAsync(CancellationToken.None);
        Assert.Contains(fit.Id, await reopened.ListUnfinishedAsync(CancellationToken.None));
        var rerun = await reopened.TryStartManyAsync([fit.Id], At.AddMinutes(1), CancellationToken.None);
        Assert.Equal((StartOutcome.Run, 1, false), (rerun[0].Start.Outcome, rerun[0].Start.Attempt, rerun[0].Stored));
        Assert.Equal([fit.Id], await reopened.CompleteManyAsync([(fit.Id, rerun[0].Completing(Done(At.AddMinutes(2))))], CancellationToken.None));
        Assert.Equal(At.AddMinutes(1), (await reopened.GetForWorkerAsync(fit.Id, CancellationToken.None))!.StartedAt);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
