using FitService.Api.Fits;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using FitService.Engine;
using FitService.Engine.Exact;
using Npgsql;

namespace FitService.Api.Tests.Jobs;

/// <summary>
/// A worker that stopped after storing a fit's end but before its optimum (crash, SIGKILL, shutdown) leaves the optimum
/// pending in the store; a worker process finds it and computes it, on SQLite and on PostgreSQL alike.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PendingOptimumRecoveryTests(PostgresCluster cluster) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fitservice-pending-optimum-").FullName;

    private static object Request(string loss) => new
    {
        x = LessonData.X, y = LessonData.Y, degree = 2, loss, learningRate = 0.001, steps = 50, initialParams = new[] { 1.1, 1.1, 1.1 },
    };

    /// <summary>
    /// What the store holds when the worker stopped between the two writes: the fit ended (an hour ago, beyond any grace)
    /// with its outcome saying the optimum is pending.
    /// </summary>
    private static async Task LeaveEndedWithOptimumPendingAsync(IFitStore store, string id)
    {
        var start = await store.TryStartAsync(id, DateTimeOffset.UtcNow, CancellationToken.None);
        Assert.Equal(StartOutcome.Run, start.Outcome);
        var completion = new FitCompletion(FitStatus.Succeeded, "steps", 50, [1, 1, 1], 2.5, [3, 2.5], null,
            DateTimeOffset.UtcNow.AddHours(-1), new FitOutcome { OptimumPending = true }.ToJson())
        { OptimumPending = true };
        Assert.True(await store.CompleteAsync(id, completion, CancellationToken.None));
    }

    /// <summary>Polls (no fixed sleep beyond the poll) until the optimum is no longer pending; generous for a loaded machine.</summary>
    private static async Task<FitResource> WaitForOptimumAsync(HttpClient client, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var fit = (await client.GetFromJsonAsync<FitResource>($"/v1/fits/{id}", TestApi.Json))!;
            if (fit.OptimumStatus != "pending" || DateTime.UtcNow > deadline) return fit;
            await Task.Delay(100);
        }
    }

    private static void AssertTheOptimumOfTheLesson(FitResource fit, string loss)
    {
        Assert.Equal("ready", fit.OptimumStatus);
        var expected = ExactSolver.Solve(LessonData.X, LessonData.Y, 2, new LossSpec(loss == "mae" ? LossKind.Mae : LossKind.Huber));
        Assert.Equal(expected.Params, fit.Optimum!.Params);
        Assert.Equal(expected.Loss, fit.Optimum.Loss);
        Assert.Equal(2.5 - expected.Loss, fit.Gap);
        // The fit's own result is untouched.
        Assert.Equal("succeeded", fit.Status);
        Assert.Equal(2.5, fit.Loss);
    }

    [Theory]
    [InlineData("mae")]
    [InlineData("huber")]
    public async Task AnOptimumLeftPendingInTheSqliteFileIsComputedWhenWorkersStart(string loss)
    {
        string id;
        using (var apiOnly = new Owned(_folder, ("Workers:Count", "0")))
        {
            id = (await (await apiOnly.CreateClient().PostFit(Request(loss))).ReadFit()).Id;
        }
        await using (var store = new SqliteFitStore($"Data Source={Path.Combine(_folder, "fits.db")}", _folder))
        {
            await LeaveEndedWithOptimumPendingAsync(store, id);
            Assert.Equal([id], await store.ListPendingOptimaAsync(DateTimeOffset.UtcNow, 10, CancellationToken.None));
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        using var workers = new Owned(_folder, ("Workers:Count", "1"));
        var fit = await WaitForOptimumAsync(workers.CreateClient(), id);

        AssertTheOptimumOfTheLesson(fit, loss);
        await using var after = new SqliteFitStore($"Data Source={Path.Combine(_folder, "fits.db")}", _folder);
        Assert.Empty(await after.ListPendingOptimaAsync(DateTimeOffset.UtcNow, 10, CancellationToken.None));
    }

    [PostgresFact]
    public async Task AnOptimumLeftPendingInPostgresIsComputedByAWorkerProcessAtStartAndByItsSweepLater()
    {
        var database = await cluster.CreateDatabaseAsync("pending");
        (string, string?)[] shared = [("Storage:Provider", "postgres"), ("Storage:ConnectionString", database), ("Workers:LeaseSeconds", "2")];
        await using var api = new FitServiceFactory([.. shared, ("Workers:Count", "0")]);
        var client = api.CreateClient();
        var first = (await (await client.PostFit(Request("mae"))).ReadFit()).Id;
        await using var store = new PostgresFitStore(database);
        await LeaveEndedWithOptimumPendingAsync(store, first);
        Assert.Equal("pending", (await client.GetFromJsonAsync<FitResource>($"/v1/fits/{first}", TestApi.Json))!.OptimumStatus);

        await using var worker = new FitServiceFactory([.. shared, ("Api:Enabled", "false"), ("Workers:Count", "1")]);
        worker.CreateClient();
        AssertTheOptimumOfTheLesson(await WaitForOptimumAsync(client, first), "mae");

        // While the worker process runs: a fit stored directly (no job to run it), then left as a stopped worker leaves it.
        var record = (await store.GetForWorkerAsync(first, CancellationToken.None))!;
        var second = Guid.NewGuid().ToString("N");
        await store.CreateAsync(new NewFit(second, record.Tenant, DateTimeOffset.UtcNow, record.RequestJson, LessonData.X, LessonData.Y,
            record.Steps, record.HistoryEvery, null, null, "pending-optimum-test"), CancellationToken.None);
        await LeaveEndedWithOptimumPendingAsync(store, second);
        AssertTheOptimumOfTheLesson(await WaitForOptimumAsync(client, second), "mae");
        Assert.Empty(await store.ListPendingOptimaAsync(DateTimeOffset.UtcNow, 10, CancellationToken.None));
    }

    [PostgresFact]
    public async Task AnOptimumLeftPendingWithoutItsMarkByAnOlderVersionIsComputedOnceTheSchemaIsUpgraded()
    {
        var database = await cluster.CreateDatabaseAsync("unmarked");
        (string, string?)[] shared = [("Storage:Provider", "postgres"), ("Storage:ConnectionString", database)];
        await using var api = new FitServiceFactory([.. shared, ("Workers:Count", "0")]);
        var client = api.CreateClient();
        var id = (await (await client.PostFit(Request("mae"))).ReadFit()).Id;
        await using var store = new PostgresFitStore(database);
        await LeaveEndedWithOptimumPendingAsync(store, id);

        // What a chunk's end stored before version 11: the outcome says pending, the mark the sweep lists by is not set;
        // and the database is at the version that wrote it.
        await using (var db = NpgsqlDataSource.Create(database))
        {
            await using var old = db.CreateCommand("UPDATE fits SET optimum_pending = false WHERE id = @id; DELETE FROM fit_schema_versions WHERE version >= 11");
            old.Parameters.AddWithValue("id", id);
            await old.ExecuteNonQueryAsync();
        }
        Assert.Empty(await store.ListPendingOptimaAsync(DateTimeOffset.UtcNow, 10, CancellationToken.None));

        // A worker process of this version upgrades the schema as it starts, and its sweep finds the fit.
        await using var worker = new FitServiceFactory([.. shared, ("Api:Enabled", "false"), ("Workers:Count", "1")]);
        worker.CreateClient();
        AssertTheOptimumOfTheLesson(await WaitForOptimumAsync(client, id), "mae");
        Assert.Empty(await store.ListPendingOptimaAsync(DateTimeOffset.UtcNow, 10, CancellationToken.None));
    }

    /// <summary>A factory over a folder this test owns (not deleted when the factory is).</summary>
    private sealed class Owned(string folder, params (string, string?)[] settings) : FitServiceFactory(folder, settings);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
