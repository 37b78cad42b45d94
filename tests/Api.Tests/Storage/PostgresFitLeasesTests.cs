using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Npgsql;

namespace FitService.Api.Tests.Storage;

/// <summary>
/// Leases of the shared store (<see cref="IFitLeases"/>) on a real PostgreSQL. Two workers (a store and its leases) on one database stand
/// for two worker processes: each has its own lease owner, as each process has. Leases are long (minutes), so one is
/// never lost to a slow machine; a worker's death is its leases running out on the database's own clock (the clock
/// leases are kept on, so that processes on machines with different clocks agree), moved there by
/// <see cref="RunOutLeasesAsync"/> rather than waited for.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresFitLeasesTests(PostgresCluster cluster) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 15, 2, 123, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;
    private const long SmallWork = 1000;

    private readonly List<PostgresFitStore> _stores = [];
    private string _database = "";

    [PostgresFact]
    public async Task WorkersClaimSmallFitsInChunksNeverTheSameOneTwiceAndNeverABigOne()
    {
        var (a, b) = await TwoWorkersAsync();
        var small = new List<string>();
        for (var i = 0; i < 20; i++) small.Add(await CreateAsync(a.Store, steps: 10));
        var big = await CreateAsync(a.Store, steps: 10_000);

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? a : b).Leases.ClaimSmallAsync(4, SmallWork, T0, None)));

        var claimed = claims.SelectMany(c => c).Select(c => c.Fit.Id).ToList();
        Assert.Equal(claimed.Count, claimed.Distinct().Count());
        Assert.Equal(small.Order(), claimed.Order());
        Assert.All(claims, c => Assert.True(c.Count <= 4));
        Assert.All(claims.SelectMany(c => c), c => Assert.Equal(3, c.Points.X.Length));
        Assert.Empty(await a.Leases.ClaimSmallAsync(4, SmallWork, T0, None));
        Assert.Equal(FitStatus.Queued, (await a.Store.GetForWorkerAsync(big, None))!.Status);
    }

    [PostgresFact]
    public async Task AFitHeldUnderALiveLeaseIsLeftAloneUntilTheLeaseRunsOut()
    {
        var (a, b) = await TwoWorkersAsync(lease: LongLease);
        var id = await CreateAsync(a.Store, steps: 10_000);

        var first = await a.Leases.TryClaimAsync(id, T0, None);
        Assert.Equal(StartOutcome.Run, first.Outcome);
        await a.Store.SaveProgressAsync(id, new FitProgressUpdate(first.Attempt, 3, [1, 2, 3], 1, 0, [5, 4, 3]), None);
        Assert.Equal(StartOutcome.Leased, (await b.Leases.TryClaimAsync(id, T0, None)).Outcome);

        await RunOutLeasesAsync(a); // worker a "died": no renewal
        var second = await b.Leases.TryClaimAsync(id, T0, None);
        Assert.Equal(StartOutcome.Run, second.Outcome);
        Assert.Equal(first.Attempt + 1, second.Attempt);
        Assert.Empty((await b.Store.GetAsync("t1", id, historyLimit: int.MaxValue, None))!.History!);
    }

    [PostgresFact]
    public async Task ProgressRenewsTheLease()
    {
        var (a, b) = await TwoWorkersAsync(lease: LongLease);
        var id = await CreateAsync(a.Store, steps: 10_000);
        var start = await a.Leases.TryClaimAsync(id, T0, None);

        for (var i = 1; i <= 4; i++)
        {
            // Each save comes after the lease ran out: only the renewal by the save keeps the fit from b.
            await RunOutLeasesAsync(a);
            await a.Store.SaveProgressAsync(id, new FitProgressUpdate(start.Attempt, i, [1, 2, 3], 1, i - 1, [i]), None);
            Assert.Equal(StartOutcome.Leased, (await b.Leases.TryClaimAsync(id, T0, None)).Outcome);
        }
    }

    [PostgresFact]
    public async Task ASmallFitOfADeadWorkerIsClaimedAgainAfterItsLeaseAndAReleasedOneAtOnce()
    {
        var (a, b) = await TwoWorkersAsync(lease: LongLease);
        var lost = await CreateAsync(a.Store, steps: 10);
        var released = await CreateAsync(a.Store, steps: 10);
        Assert.Equal(2, (await a.Leases.ClaimSmallAsync(10, SmallWork, T0, None)).Count);

        await a.Leases.ReleaseAsync([released], None);
        var reclaimed = await b.Leases.ClaimSmallAsync(10, SmallWork, T0, None);
        Assert.Equal([released], reclaimed.Select(c => c.Fit.Id));
        Assert.Equal(2, reclaimed[0].Fit.Attempt);
        await b.Leases.CompleteManyAsync([(released, new FitCompletion(FitStatus.Succeeded, "steps", 10, [1, 2, 3], 1, [], null, T0))], None);
        Assert.Empty(await b.Leases.ClaimSmallAsync(10, SmallWork, T0, None));

        await RunOutLeasesAsync(a);
        Assert.Equal([lost], (await b.Leases.ClaimSmallAsync(10, SmallWork, T0, None)).Select(c => c.Fit.Id));
    }

    [PostgresFact]
    public async Task CompletingAChunkEndsEachFitOnceWithItsResult()
    {
        var (a, _) = await TwoWorkersAsync();
        var ids = new[] { await CreateAsync(a.Store, steps: 10), await CreateAsync(a.Store, steps: 10) };
        var claimed = await a.Leases.ClaimSmallAsync(10, SmallWork, T0, None);
        await a.Store.SaveProgressAsync(ids[0], new FitProgressUpdate(claimed[0].Fit.Attempt, 2, [0, 0, 0], 9, 0, [9, 9]), None);
        await a.Store.SaveProgressAsync(ids[0], new FitProgressUpdate(claimed[0].Fit.Attempt, 4, [0, 0, 0], 9, 2, [9, 9]), None);

        var done = new FitCompletion(FitStatus.Succeeded, "steps", 10, [1, 2, 3], 0.5, [5, 4, 3], null, T0.AddSeconds(1), "{\"gap\":0.25}");
        var failed = new FitCompletion(FitStatus.Failed, "diverged", 3, [double.NaN, 1, 1], null, [], "diverged", T0.AddSeconds(2));
        var ended = await a.Leases.CompleteManyAsync([(ids[0], done), (ids[1], failed)], None);
        var again = await a.Leases.CompleteManyAsync([(ids[0], done with { Loss = 99 })], None);

        Assert.Equal(ids.Order(), ended.Order());
        Assert.Empty(again);
        var first = (await a.Store.GetAsync("t1", ids[0], historyLimit: int.MaxValue, None))!;
        Assert.Equal((FitStatus.Succeeded, 0.5, 10), (first.Status, first.Loss!.Value, first.Step));
        Assert.Equal([5.0, 4, 3], first.History!);
        Assert.Equal(T0.AddSeconds(1), first.FinishedAt);
        Assert.Equal("{\"gap\":0.25}", first.OutcomeJson);
        var second = (await a.Store.GetAsync("t1", ids[1], historyLimit: int.MaxValue, None))!;
        Assert.Equal((FitStatus.Failed, "diverged", "diverged"), (second.Status, second.StopReason, second.Error));
        Assert.True(double.IsNaN(second.Params![0]));
        Assert.Null(second.Loss);
        Assert.Empty(second.History!);
        Assert.Null(second.OutcomeJson);
    }

    [PostgresFact]
    public async Task ASweepHandsOutADeadWorkersBigFitOnceAndEndsItsCancelledOnes()
    {
        var (a, b) = await TwoWorkersAsync(lease: LongLease);
        var lost = await CreateAsync(a.Store, steps: 10_000);
        var cancelled = await CreateAsync(a.Store, steps: 10_000);
        var queuedLong = await CreateAsync(a.Store, steps: 10_000, createdAt: DateTimeOffset.UtcNow.AddMinutes(-10));
        var small = await CreateAsync(a.Store, steps: 10);
        await a.Leases.TryClaimAsync(lost, T0, None);
        await a.Leases.TryClaimAsync(cancelled, T0, None);
        await a.Leases.ClaimSmallAsync(10, SmallWork, T0, None);
        Assert.Equal(CancelOutcome.Requested, await a.Store.RequestCancelAsync("t1", cancelled, T0, None));

        var early = await b.Leases.SweepAsync(SmallWork, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow, None);
        Assert.Equal([queuedLong], early.BigFits);
        Assert.False(early.SmallFitsWaiting);

        await RunOutLeasesAsync(a);
        var sweep = await b.Leases.SweepAsync(SmallWork, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow, None);
        var next = await b.Leases.SweepAsync(SmallWork, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow, None);

        Assert.Equal([lost], sweep.BigFits);
        Assert.Equal([cancelled], sweep.Cancelled);
        Assert.True(sweep.SmallFitsWaiting);
        Assert.Empty(next.BigFits);
        Assert.Equal(FitStatus.Cancelled, (await b.Store.GetForWorkerAsync(cancelled, None))!.Status);
        Assert.Equal(StartOutcome.Run, (await b.Leases.TryClaimAsync(lost, T0, None)).Outcome);
        Assert.Equal([small], (await b.Leases.ClaimSmallAsync(10, SmallWork, T0, None)).Select(c => c.Fit.Id));
    }

    [PostgresFact]
    public async Task AProcessLeavesAFitItRunsAloneButTakesBackAtOnceOneItGaveUp()
    {
        var (a, b) = await TwoWorkersAsync();
        var id = await CreateAsync(a.Store, steps: 10_000);
        var first = await a.Leases.TryClaimAsync(id, T0, None);

        // A duplicated job in the same process finds the fit running here.
        Assert.Equal(StartOutcome.Leased, (await a.Leases.TryClaimAsync(id, T0, None)).Outcome);
        // The run failed and gave the fit up: released at once, anyone may take it.
        await a.Leases.GiveUpAsync([id]);
        var second = await b.Leases.TryClaimAsync(id, T0, None);
        Assert.Equal((StartOutcome.Run, first.Attempt + 1), (second.Outcome, second.Attempt));
    }

    [PostgresFact(OwnCluster = true)]
    public async Task AFitGivenUpWhileTheDatabaseWasAwayIsTakenBackByItsOwnProcessAtOnceAndByOthersAfterItsSweep()
    {
        await using var postgres = await PostgresCluster.StartOwnAsync();
        var database = new NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync("giveup")) { MaxPoolSize = 10, Timeout = 5 }.ConnectionString;
        await using var a = new Worker(new PostgresFitStore(database, lease: TimeSpan.FromMinutes(5)));
        await using var b = new Worker(new PostgresFitStore(database, lease: TimeSpan.FromMinutes(5)));
        await a.Store.InitializeAsync(None);
        var big = await CreateAsync(a.Store, steps: 10_000);
        var other = await CreateAsync(a.Store, steps: 10_000);
        var small = await CreateAsync(a.Store, steps: 10);
        await a.Leases.TryClaimAsync(big, T0, None);
        await a.Leases.TryClaimAsync(other, T0, None);
        var claimed = await a.Leases.ClaimSmallAsync(10, SmallWork, T0, None);
        Assert.Equal([small], claimed.Select(c => c.Fit.Id));

        // The database goes away mid-run: the runs fail, and the releases cannot reach it.
        await postgres.StopServerAsync();
        await a.Leases.GiveUpAsync([big, other]);
        await a.Leases.GiveUpAsync([small]);
        await postgres.StartServerAsync();

        // Another process still sees live leases (nothing told it otherwise)…
        Assert.Equal(StartOutcome.Leased, (await b.Leases.TryClaimAsync(big, T0, None)).Outcome);
        Assert.Empty(await b.Leases.ClaimSmallAsync(10, SmallWork, T0, None));
        // …the process that gave them up takes them again at once, not after five minutes…
        Assert.Equal(StartOutcome.Run, (await a.Leases.TryClaimAsync(big, T0, None)).Outcome);
        Assert.Equal([small], (await a.Leases.ClaimSmallAsync(10, SmallWork, T0, None)).Select(c => c.Fit.Id));
        Assert.Equal(StartOutcome.Leased, (await a.Leases.TryClaimAsync(big, T0, None)).Outcome);
        // …and its next sweep gives the rest back to everyone.
        var sweep = await a.Leases.SweepAsync(SmallWork, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow, None);
        Assert.Contains(other, sweep.BigFits);
        Assert.Equal(StartOutcome.Run, (await b.Leases.TryClaimAsync(other, T0, None)).Outcome);
    }

    [PostgresFact]
    public async Task TheLeaseColumnsComeWithANewSchemaVersion()
    {
        var (a, _) = await TwoWorkersAsync();
        await using var data = NpgsqlDataSource.Create(_database);
        await using var cmd = data.CreateCommand(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'fits' AND column_name IN ('claimed_by', 'lease_until')");
        Assert.Equal(2L, await cmd.ExecuteScalarAsync());
        Assert.True(PostgresFitStore.SchemaVersion >= 3, "the leases came with version 3; later versions append");
        await a.Store.InitializeAsync(None);
    }

    /// <summary>Far longer than any test takes on a loaded machine: a lease runs out only when a test says so.</summary>
    private static readonly TimeSpan LongLease = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Every lease <paramref name="worker"/> holds runs out now on the database's clock, as when the worker died a lease ago.
    /// </summary>
    private async Task RunOutLeasesAsync(Worker worker)
    {
        await using var data = NpgsqlDataSource.Create(_database);
        await using var cmd = data.CreateCommand("UPDATE fits SET lease_until = now() - interval '1 millisecond' WHERE claimed_by = $1 AND lease_until > now()");
        cmd.Parameters.Add(new NpgsqlParameter { Value = worker.Leases.Owner });
        Assert.NotEqual(0, await cmd.ExecuteNonQueryAsync());
    }

    private async Task<(Worker A, Worker B)> TwoWorkersAsync(TimeSpan? lease = null)
    {
        _database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync("lease")) { MaxPoolSize = 20 }.ConnectionString;
        var a = new Worker(new PostgresFitStore(_database, lease: lease));
        var b = new Worker(new PostgresFitStore(_database, lease: lease));
        _stores.Add(a.Store);
        _stores.Add(b.Store);
        await a.Store.InitializeAsync(None);
        await b.Store.InitializeAsync(None);
        return (a, b);
    }

    /// <summary>A worker process: its store and its leases (its own lease owner).</summary>
    private sealed class Worker(PostgresFitStore store) : IAsyncDisposable
    {
        public PostgresFitStore Store { get; } = store;
        public PostgresFitLeases Leases { get; } = new(store);

        public ValueTask DisposeAsync() => Store.DisposeAsync();
    }

    private static async Task<string> CreateAsync(IFitStore store, int steps, DateTimeOffset? createdAt = null)
    {
        var fit = new NewFit(Guid.NewGuid().ToString("N"), "t1", createdAt ?? T0, "{\"degree\":2}", [0, 1, 2], [1, 2, 3],
            steps, HistoryEvery: 1, null, null, "h");
        return (await store.CreateAsync(fit, None)).Fit!.Id;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
    }
}
