using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Npgsql;

namespace FitService.Api.Tests.Storage;

/// <summary>Single fits submitted at once go to PostgreSQL many to a statement, each keeping the outcome it would have alone.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresSubmissionBatcherTests(PostgresCluster cluster) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 18, 40, 5, 321, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly List<PostgresFitStore> _stores = [];
    private string _database = "";

    [PostgresFact]
    public async Task OneStatementStoresEveryFitWithItsPointsAsASingleInsertWould()
    {
        var grouped = await NewStoreAsync();
        var alone = await NewStoreAsync(groupInserts: false);
        var fits = Enumerable.Range(0, 40).Select(i => AFit(points: 3 + i) with
        {
            Label = i % 2 == 0 ? $"label {i}" : null,
            Weights = i % 3 == 0 ? Enumerable.Range(0, 3 + i).Select(j => 1.0 + j).ToArray() : null,
            TraceParent = i % 5 == 0 ? "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" : null,
            CreatedAt = T0.AddTicks(i * 1234),
        }).ToList();

        var stored = await grouped.Submissions!.InsertAsync(fits, None);

        Assert.Equal(fits.Count, stored.Count);
        foreach (var fit in fits)
        {
            var twin = fit with { Id = Guid.NewGuid().ToString("N") };
            var single = (await alone.CreateAsync(twin, None)).Fit!;
            var got = await grouped.GetAsync("t1", fit.Id, historyLimit: 0, None);
            Assert.Equal(single with { Seq = 0, Id = "" }, got! with { Seq = 0, Id = "" });
            Assert.Equal(got, stored[fit.Id]);
            var points = await grouped.GetPointsAsync(fit.Id, None);
            Assert.Equal(fit.X, points!.X);
            Assert.Equal(fit.Y, points.Y);
            Assert.Equal(fit.Weights, points.Weights);
        }
    }

    [PostgresFact]
    public async Task DuplicateKeysInOneStatementStoreOneFitAndSkipTheOthersWithoutFailingTheRest()
    {
        var store = await NewStoreAsync();
        var first = AFit(key: "k");
        var same = AFit(key: "k");
        var other = AFit(key: "k", hash: "h2");
        var keyless = new[] { AFit(), AFit() };

        var stored = await store.Submissions!.InsertAsync([keyless[0], first, same, other, keyless[1]], None);

        Assert.Contains(keyless[0].Id, stored.Keys);
        Assert.Contains(keyless[1].Id, stored.Keys);
        var winner = Assert.Single(new[] { first, same, other }, f => stored.ContainsKey(f.Id));
        Assert.Equal(3, stored.Count);
        Assert.Equal(3, await ScalarAsync("SELECT COUNT(*) FROM fits"));
        Assert.Equal(3, await ScalarAsync("SELECT COUNT(*) FROM fit_points"));
        // The skipped ones, submitted through the store, resolve the key as a single submission does.
        foreach (var loser in new[] { first, same, other }.Where(f => f != winner))
        {
            var result = await store.CreateAsync(loser, None);
            Assert.Equal(loser.RequestHash == winner.RequestHash ? CreateOutcome.Existing : CreateOutcome.Conflict, result.Outcome);
            Assert.Equal(winner.Id, result.Fit!.Id);
        }
    }

    [PostgresFact]
    public async Task ConcurrentSubmissionsWithSharedKeysEachGetTheOutcomeOfTheirKey()
    {
        var database = await NewDatabaseAsync();
        var stores = new[] { NewStore(database), NewStore(database) };
        await stores[0].InitializeAsync(None);
        // 20 keys, each sent by 5 submitters (one of them with other content), and 100 fits without a key, from two processes.
        var fits = Enumerable.Range(0, 100).Select(i => AFit(key: $"key-{i % 20}", hash: i < 20 ? "other" : "h1"))
            .Concat(Enumerable.Range(0, 100).Select(_ => AFit())).OrderBy(f => f.Id, StringComparer.Ordinal).ToList();

        using var go = new ManualResetEventSlim();
        var racers = fits.Select((f, i) => Task.Run(async () =>
        {
            go.Wait();
            return (Fit: f, Result: await stores[i % 2].CreateAsync(f, None));
        })).ToArray();
        go.Set();
        var results = await Task.WhenAll(racers);

        Assert.All(results.Where(r => r.Fit.IdempotencyKey is null), r => Assert.Equal(CreateOutcome.Created, r.Result.Outcome));
        foreach (var key in results.Where(r => r.Fit.IdempotencyKey is not null).GroupBy(r => r.Fit.IdempotencyKey))
        {
            var winner = Assert.Single(key, r => r.Result.Outcome == CreateOutcome.Created);
            Assert.All(key, r => Assert.Equal(winner.Fit.Id, r.Result.Fit!.Id));
            Assert.All(key.Where(r => r != winner), r => Assert.Equal(
                r.Fit.RequestHash == winner.Fit.RequestHash ? CreateOutcome.Existing : CreateOutcome.Conflict, r.Result.Outcome));
        }
        Assert.Equal(120, await ScalarAsync("SELECT COUNT(*) FROM fits"));
        Assert.Equal(120, await ScalarAsync("SELECT COUNT(*) FROM fits f JOIN fit_points p ON p.fit_id = f.id"));
    }

    [PostgresFact]
    public async Task ASubmissionTheDatabaseRefusesFailsAloneAndTheOthersAreStored()
    {
        var store = await NewStoreAsync();
        // PostgreSQL text cannot hold a NUL character: this one fit's insert is refused by the server.
        var bad = AFit() with { Label = "bad\0label" };
        var good = Enumerable.Range(0, 60).Select(_ => AFit()).ToList();
        // Written together, the statement fails as a whole and stores nothing…
        await Assert.ThrowsAsync<PostgresException>(() => store.Submissions!.InsertAsync([good[0], bad, good[1]], None));
        Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM fits"));
        // …so submitted at once, each member of a failed group is tried alone.

        using var go = new ManualResetEventSlim();
        var racers = good.Prepend(bad).Select(f => Task.Run<(string Id, CreateOutcome? Outcome, Exception? Error)>(async () =>
        {
            go.Wait();
            try
            {
                return (f.Id, (await store.CreateAsync(f, None)).Outcome, null);
            }
            catch (PostgresException e)
            {
                return (f.Id, null, e);
            }
        })).ToArray();
        go.Set();
        var results = await Task.WhenAll(racers);

        var failed = Assert.Single(results, r => r.Error is not null);
        Assert.Equal(bad.Id, failed.Id);
        Assert.All(results.Where(r => r.Id != bad.Id), r => Assert.Equal(CreateOutcome.Created, r.Outcome));
        Assert.Equal(good.Count, await ScalarAsync("SELECT COUNT(*) FROM fits"));
        Assert.Equal(good.Count, await ScalarAsync("SELECT COUNT(*) FROM fit_points"));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
    }

    private async Task<PostgresFitStore> NewStoreAsync(bool groupInserts = true)
    {
        var store = NewStore(_database.Length > 0 ? _database : await NewDatabaseAsync(), groupInserts);
        await store.InitializeAsync(None);
        return store;
    }

    private async Task<string> NewDatabaseAsync()
    {
        _database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync("group")) { MaxPoolSize = 20 }.ConnectionString;
        return _database;
    }

    private PostgresFitStore NewStore(string connectionString, bool groupInserts = true)
    {
        var store = new PostgresFitStore(connectionString, groupInserts: groupInserts);
        _stores.Add(store);
        return store;
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(_database);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static NewFit AFit(string? key = null, string hash = "h1", int points = 3) =>
        new(Guid.NewGuid().ToString("N"), "t1", T0, "{\"degree\":2}",
            Enumerable.Range(0, points).Select(i => i * 0.5).ToArray(),
            Enumerable.Range(0, points).Select(i => i * 1.5 + 1).ToArray(),
            Steps: 10, HistoryEvery: 1, Label: null, key, RequestHash: hash);
}
