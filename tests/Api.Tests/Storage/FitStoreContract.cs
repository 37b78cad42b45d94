using FitService.Api.Jobs;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace FitService.Api.Tests.Storage;

/// <summary>
/// What every <see cref="IFitStore"/> must do. Each provider runs this same suite against a real database
/// (<see cref="SqliteFitStoreTests"/>, and PostgreSQL in its own class).
/// </summary>
public abstract class FitStoreContract
{
    /// <summary>A fresh, initialised store over an empty database.</summary>
    protected abstract Task<IFitStore> NewStoreAsync();

    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 15, 2, 123, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private static NewFit AFit(string? id = null, string tenant = "t1", string? key = null, string hash = "h1", string? label = null, int points = 3) =>
        new(id ?? Guid.NewGuid().ToString("N"), tenant, T0, "{\"degree\":2}",
            Enumerable.Range(0, points).Select(i => i * 0.5).ToArray(),
            Enumerable.Range(0, points).Select(i => i * 1.5 + 1).ToArray(),
            Steps: 10, HistoryEvery: 1, label, key, hash);

    [ConditionalFact]
    public async Task CreatedFitIsQueuedWithItsPointsAndRequest()
    {
        var store = await NewStoreAsync();
        var fit = AFit(label: "lesson", points: 5);
        var result = await store.CreateAsync(fit, None);

        Assert.Equal(CreateOutcome.Created, result.Outcome);
        var got = await store.GetAsync("t1", fit.Id, includeHistory: true, None);
        Assert.NotNull(got);
        Assert.Equal(FitStatus.Queued, got.Status);
        Assert.Equal("lesson", got.Label);
        Assert.Equal(5, got.Points);
        Assert.Equal(10, got.Steps);
        Assert.Equal("{\"degree\":2}", got.RequestJson);
        Assert.Equal(T0, got.CreatedAt);
        Assert.Empty(got.History!);
        var points = await store.GetPointsAsync(fit.Id, None);
        Assert.Equal(fit.X, points!.X);
        Assert.Equal(fit.Y, points.Y);
        Assert.Null(points.Weights);
    }

    [ConditionalFact]
    public async Task AFitCreatedEndedIsStoredWholeAsItsRecordSaysAndNeverListedUnfinished()
    {
        var store = await NewStoreAsync();
        var fit = AFit(label: "inline", points: 4, key: "k-ended") with { Weights = [1, 2, 3, 4], TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
        var done = new FitCompletion(FitStatus.Succeeded, "steps", 10, [1.5, -2, 3e-300], 0.25, [9, 4, double.NaN, 1], null,
            T0.AddMilliseconds(7.6), "{\"gap\":0.01}");

        var result = await store.CreateEndedAsync(fit, T0.AddMilliseconds(3.2), done, None);

        Assert.Equal(CreateOutcome.Created, result.Outcome);
        var got = await store.GetAsync("t1", fit.Id, includeHistory: true, None);
        // The record the write answered is the one any later read finds, field for field (the sequence is the store's own).
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(got! with { History = null }),
            System.Text.Json.JsonSerializer.Serialize(result.Fit! with { History = null }));
        Assert.Equal(got.History, result.Fit.History);
        Assert.Equal(FitStatus.Succeeded, got.Status);
        Assert.Equal(1, got.Attempt);
        Assert.Equal(T0.AddMilliseconds(3), got.StartedAt);
        Assert.Equal(T0.AddMilliseconds(7), got.FinishedAt);
        Assert.Equal([1.5, -2, 3e-300], got.Params!);
        Assert.Equal([9, 4, double.NaN, 1], got.History!);
        Assert.Equal("{\"gap\":0.01}", got.OutcomeJson);
        Assert.Equal(fit.TraceParent, got.TraceParent);
        Assert.Equal(fit.Weights, (await store.GetPointsAsync(fit.Id, None))!.Weights);
        Assert.DoesNotContain(fit.Id, await store.ListUnfinishedAsync(None));
        Assert.DoesNotContain(fit.Id, await store.ListPendingOptimaAsync(T0.AddHours(1), 10, None));
        Assert.False(await store.CompleteAsync(fit.Id, done, None));

        // Its key: the same content replays the stored fit, other content conflicts, and neither stores anything.
        var replay = await store.CreateEndedAsync(AFit(key: "k-ended"), T0, done, None);
        var other = await store.CreateEndedAsync(AFit(key: "k-ended", hash: "h2"), T0, done, None);
        var queued = await store.CreateAsync(AFit(key: "k-ended"), None);
        Assert.Equal((CreateOutcome.Existing, fit.Id), (replay.Outcome, replay.Fit!.Id));
        Assert.Equal((CreateOutcome.Conflict, fit.Id), (other.Outcome, other.Fit!.Id));
        Assert.Equal((CreateOutcome.Existing, fit.Id), (queued.Outcome, queued.Fit!.Id));
        Assert.Single(await store.ListAsync("t1", new FitQuery(null, "inline", 10, null), None));
    }

    [ConditionalFact]
    public async Task WeightsAreStoredWithThePointsOfAFitAndOfABatch()
    {
        var store = await NewStoreAsync();
        double[] weights = [0, 2.5, 1e-300];
        var fit = AFit() with { Weights = weights };
        await store.CreateAsync(fit, None);
        var batchId = Guid.NewGuid().ToString("N");
        List<NewFit> batchFits = [AFit() with { BatchId = batchId, Weights = [1, 0, 3] }, AFit() with { BatchId = batchId }];
        await store.CreateBatchAsync(ABatch(batchId), batchFits, None);

        Assert.Equal(weights, (await store.GetPointsAsync(fit.Id, None))!.Weights);
        var batchWeights = (await store.GetPointsAsync(batchFits[0].Id, None))!.Weights;
        Assert.Equal(new[] { 1.0, 0, 3 }, batchWeights);
        var unweighted = await store.GetPointsAsync(batchFits[1].Id, None);
        Assert.Equal(batchFits[1].Y, unweighted!.Y);
        Assert.Null(unweighted.Weights);
    }

    [ConditionalFact]
    public async Task TheTraceParentIsStoredWithAFitAndWithEachFitOfABatch()
    {
        var store = await NewStoreAsync();
        const string single = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        const string batched = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var fit = AFit() with { TraceParent = single };
        await store.CreateAsync(fit, None);
        var batchId = Guid.NewGuid().ToString("N");
        List<NewFit> batchFits = [AFit() with { BatchId = batchId, TraceParent = batched }, AFit() with { BatchId = batchId }];
        await store.CreateBatchAsync(ABatch(batchId), batchFits, None);

        Assert.Equal(single, (await store.GetForWorkerAsync(fit.Id, None))!.TraceParent);
        Assert.Equal(batched, (await store.GetForWorkerAsync(batchFits[0].Id, None))!.TraceParent);
        Assert.Null((await store.GetForWorkerAsync(batchFits[1].Id, None))!.TraceParent);
    }

    [ConditionalFact]
    public async Task RetentionKeepsEachTenantsFitsForItsOwnDaysAndTheRestForTheDefault()
    {
        var store = await NewStoreAsync();
        var clock = new FakeTimeProvider(T0);
        async Task<string> EndedAsync(string tenant, FitStatus status, int daysAgo)
        {
            var fit = AFit(tenant: tenant);
            await store.CreateAsync(fit, None);
            await store.TryStartAsync(fit.Id, T0, None);
            await store.CompleteAsync(fit.Id, new FitCompletion(status, "steps", 10, [1, 2, 3], 0.5, [3, 2, 1], null,
                clock.GetUtcNow().AddDays(-daysAgo)), None);
            return fit.Id;
        }
        // Default: succeeded 30 days. "short" keeps succeeded fits 2 days; "forever" keeps them for ever (0) and its failed
        // ones 1 day (the default for failed, 90, holds for the others). Tenant names with quotes and commas are just names.
        var retention = new RetentionOptions
        {
            SucceededDays = 30, FailedDays = 90, CancelledDays = 30, BatchSize = 1,
            Tenants = new()
            {
                ["short"] = new TenantRetention { SucceededDays = 2 },
                ["for'ever\",x"] = new TenantRetention { SucceededDays = 0, FailedDays = 1 },
            },
        };
        var forever = "for'ever\",x";
        var shortOld = await EndedAsync("short", FitStatus.Succeeded, 3);
        var shortNew = await EndedAsync("short", FitStatus.Succeeded, 1);
        var shortFailed = await EndedAsync("short", FitStatus.Failed, 40);
        var foreverOld = await EndedAsync(forever, FitStatus.Succeeded, 400);
        var foreverFailed = await EndedAsync(forever, FitStatus.Failed, 2);
        var otherOld = await EndedAsync("t1", FitStatus.Succeeded, 31);
        var otherMid = await EndedAsync("t1", FitStatus.Succeeded, 3);
        var otherFailed = await EndedAsync("t1", FitStatus.Failed, 2);
        var sweeper = new RetentionSweeper(store, Options.Create(retention), clock, NullLogger<RetentionSweeper>.Instance);

        Assert.Equal(3, await sweeper.SweepAsync(None));

        async Task<bool> KeptAsync(string tenant, string id) => await store.GetAsync(tenant, id, false, None) is not null;
        Assert.False(await KeptAsync("short", shortOld));
        Assert.True(await KeptAsync("short", shortNew));
        Assert.True(await KeptAsync("short", shortFailed));
        Assert.True(await KeptAsync(forever, foreverOld));
        Assert.False(await KeptAsync(forever, foreverFailed));
        Assert.False(await KeptAsync("t1", otherOld));
        Assert.True(await KeptAsync("t1", otherMid));
        Assert.True(await KeptAsync("t1", otherFailed));

        // A day later "short"'s newer fit has had its two days; nobody else's retention ran out.
        clock.Advance(TimeSpan.FromDays(1.5));
        Assert.Equal(1, await sweeper.SweepAsync(None));
        Assert.False(await KeptAsync("short", shortNew));
        Assert.True(await KeptAsync("t1", otherMid));
    }

    [ConditionalFact]
    public async Task RetentionRemovesFitsOfAStatusEndedBeforeTheCutOffOldestFirstInBoundedBatches()
    {
        var store = await NewStoreAsync();
        async Task<string> EndedAsync(FitStatus status, int hours)
        {
            var fit = AFit();
            await store.CreateAsync(fit, None);
            await store.TryStartAsync(fit.Id, T0, None);
            await store.CompleteAsync(fit.Id, new FitCompletion(status, "steps", 10, [1, 2, 3], 0.5, [3, 2, 1], null, T0.AddHours(hours)), None);
            return fit.Id;
        }
        var oldest = await EndedAsync(FitStatus.Succeeded, 1);
        var older = await EndedAsync(FitStatus.Succeeded, 2);
        var recent = await EndedAsync(FitStatus.Succeeded, 5);
        var failed = await EndedAsync(FitStatus.Failed, 1);
        var queued = AFit();
        await store.CreateAsync(queued, None);

        Assert.Equal(1, await store.DeleteEndedAsync(FitStatus.Succeeded, T0.AddHours(3), 1, None));
        Assert.Null(await store.GetAsync("t1", oldest, true, None));
        Assert.NotNull(await store.GetAsync("t1", older, true, None));
        Assert.Equal(1, await store.DeleteEndedAsync(FitStatus.Succeeded, T0.AddHours(3), 1, None));
        Assert.Equal(0, await store.DeleteEndedAsync(FitStatus.Succeeded, T0.AddHours(3), 1, None));

        Assert.Null(await store.GetPointsAsync(older, None));
        Assert.Null(await store.GetHistoryAsync("t1", older, 0, 10, None));
        Assert.NotNull(await store.GetAsync("t1", recent, true, None));
        Assert.NotNull(await store.GetAsync("t1", failed, true, None));
        Assert.NotNull(await store.GetAsync("t1", queued.Id, true, None));
    }

    [ConditionalFact]
    public async Task AnotherTenantSeesNothing()
    {
        var store = await NewStoreAsync();
        var fit = AFit(tenant: "acme");
        await store.CreateAsync(fit, None);

        Assert.Null(await store.GetAsync("other", fit.Id, true, None));
        Assert.Null(await store.GetHistoryAsync("other", fit.Id, 0, 10, None));
        Assert.Empty(await store.ListAsync("other", new FitQuery(null, null, 10, null), None));
        Assert.Equal(CancelOutcome.NotFound, await store.RequestCancelAsync("other", fit.Id, T0, None));
        Assert.False(await store.DeleteAsync("other", fit.Id, None));
        Assert.NotNull(await store.GetAsync("acme", fit.Id, true, None));
    }

    [ConditionalFact]
    public async Task SameIdempotencyKeyReturnsTheFirstFitOrConflicts()
    {
        var store = await NewStoreAsync();
        var first = await store.CreateAsync(AFit(key: "k1", hash: "same"), None);
        var again = await store.CreateAsync(AFit(key: "k1", hash: "same"), None);
        var different = await store.CreateAsync(AFit(key: "k1", hash: "other"), None);
        var otherTenant = await store.CreateAsync(AFit(tenant: "t2", key: "k1", hash: "other"), None);

        Assert.Equal(CreateOutcome.Existing, again.Outcome);
        Assert.Equal(first.Fit!.Id, again.Fit!.Id);
        Assert.Equal(CreateOutcome.Conflict, different.Outcome);
        Assert.Equal(CreateOutcome.Created, otherTenant.Outcome);
        Assert.Single(await store.ListAsync("t1", new FitQuery(null, null, 10, null), None));
    }

    [ConditionalFact]
    public async Task ProgressAppendsHistoryAndCompletionReplacesIt()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        await store.CreateAsync(fit, None);
        var start = await store.TryStartAsync(fit.Id, T0.AddSeconds(1), None);
        Assert.Equal(StartOutcome.Run, start.Outcome);

        Assert.False(await store.SaveProgressAsync(fit.Id, new FitProgressUpdate(start.Attempt, 2, [1, 2, 3], 5.0, 0, [9, 8]), None));
        Assert.False(await store.SaveProgressAsync(fit.Id, new FitProgressUpdate(start.Attempt, 4, [1, 2, 4], 4.0, 2, [7, 6]), None));
        var running = await store.GetAsync("t1", fit.Id, true, None);
        Assert.Equal(FitStatus.Running, running!.Status);
        Assert.Equal(4, running.Step);
        Assert.Equal([9.0, 8, 7, 6], running.History!);
        Assert.Equal([1.0, 2, 4], running.Params!);
        Assert.Equal(T0.AddSeconds(1), running.StartedAt);

        var done = new FitCompletion(FitStatus.Succeeded, "steps", 5, [1, 2, 5], 3.0, [9, 8, 7, 6, 5], null, T0.AddSeconds(2));
        Assert.True(await store.CompleteAsync(fit.Id, done, None));
        Assert.False(await store.CompleteAsync(fit.Id, done with { Loss = 99 }, None));

        var ended = await store.GetAsync("t1", fit.Id, true, None);
        Assert.Equal(FitStatus.Succeeded, ended!.Status);
        Assert.Equal("steps", ended.StopReason);
        Assert.Equal(3.0, ended.Loss);
        Assert.Equal([9.0, 8, 7, 6, 5], ended.History!);
        Assert.Equal(T0.AddSeconds(2), ended.FinishedAt);
        Assert.Equal(StartOutcome.Ended, (await store.TryStartAsync(fit.Id, T0, None)).Outcome);
    }

    [ConditionalFact]
    public async Task AnOptimumComputedAfterTheEndReplacesTheOutcomeOfEndedFitsOnly()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        var running = AFit();
        await store.CreateAsync(fit, None);
        await store.CreateAsync(running, None);
        await store.TryStartAsync(fit.Id, T0, None);
        await store.TryStartAsync(running.Id, T0, None);
        Assert.True(await store.CompleteAsync(fit.Id, new FitCompletion(FitStatus.Succeeded, "steps", 1, [1], 1.75, [2], null, T0, "{\"optimumPending\":true}"), None));

        const string outcome = "{\"optimum\":{\"loss\":1.5},\"gap\":0.25}";
        Assert.True(await store.SaveOutcomeAsync(fit.Id, outcome, None));
        Assert.False(await store.SaveOutcomeAsync(running.Id, outcome, None));
        Assert.False(await store.SaveOutcomeAsync("missing", outcome, None));

        var stored = (await store.GetAsync("t1", fit.Id, true, None))!;
        Assert.Equal(outcome, stored.OutcomeJson);
        Assert.Equal(1.75, stored.Loss); // the fit's own result is untouched
        Assert.Null((await store.GetAsync("t1", running.Id, false, None))!.OutcomeJson);
    }

    [ConditionalFact]
    public async Task PendingOptimaAreListedOldestEndFirstUntilTheirOutcomeIsSaved()
    {
        var store = await NewStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var fit = AFit();
            await store.CreateAsync(fit, None);
            await store.TryStartAsync(fit.Id, T0, None);
            // Ended at T0 + 3 min, + 2 min, + 1 min, + 0: listed in the reverse of creation; the last one's optimum is not pending.
            var completion = new FitCompletion(FitStatus.Succeeded, "steps", 1, [1], 1.75, [2], null, T0.AddMinutes(3 - i),
                i < 3 ? "{\"optimumPending\":true}" : "{}")
            { OptimumPending = i < 3 };
            Assert.True(await store.CompleteAsync(fit.Id, completion, None));
            ids.Add(fit.Id);
        }
        var running = AFit();
        await store.CreateAsync(running, None);
        await store.TryStartAsync(running.Id, T0, None);

        Assert.Equal([ids[2], ids[1], ids[0]], await store.ListPendingOptimaAsync(T0.AddHours(1), 10, None));
        Assert.Equal([ids[2], ids[1]], await store.ListPendingOptimaAsync(T0.AddHours(1), 2, None));
        Assert.Equal([ids[2]], await store.ListPendingOptimaAsync(T0.AddMinutes(1.5), 10, None)); // ended before the cut-off only

        Assert.True(await store.SaveOutcomeAsync(ids[1], "{\"optimum\":{\"loss\":1.5}}", None));
        Assert.Equal([ids[2], ids[0]], await store.ListPendingOptimaAsync(T0.AddHours(1), 10, None));
    }

    [ConditionalFact]
    public async Task AChunkEndedWithOptimaPendingIsListedForTheSweepAsEachFitEndedAloneWouldBe()
    {
        // A worker killed between a chunk's end and its optima leaves them to the sweep, which finds them by this list only.
        var store = await NewStoreAsync();
        var fits = new[] { AFit(), AFit(), AFit() };
        foreach (var f in fits)
        {
            await store.CreateAsync(f, None);
            await store.TryStartAsync(f.Id, T0, None);
        }
        FitCompletion Ended(bool pending) => new(FitStatus.Succeeded, "steps", 1, [1], 1.75, [2], null, T0,
            pending ? "{\"optimumPending\":true}" : "{}")
        { OptimumPending = pending };

        await store.CompleteManyAsync([(fits[0].Id, Ended(true)), (fits[1].Id, Ended(false))], None);
        await store.CompleteAsync(fits[2].Id, Ended(true), None);

        var listed = await store.ListPendingOptimaAsync(T0.AddHours(1), 10, None);
        Assert.Equal(new[] { fits[0].Id, fits[2].Id }.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
    }

    [ConditionalFact]
    public async Task AChunkStartsEndsAndGetsItsOptimaAsEachFitWouldAlone()
    {
        var store = await NewStoreAsync();
        var queued = AFit(points: 4);
        var again = AFit();
        var ended = AFit();
        var cancelled = AFit();
        foreach (var f in new[] { queued, again, ended, cancelled }) await store.CreateAsync(f, None);
        var firstAttempt = await store.TryStartAsync(again.Id, T0, None);
        await store.SaveProgressAsync(again.Id, new FitProgressUpdate(firstAttempt.Attempt, 3, [1, 1, 1], 2, 0, [5, 4, 3]), None);
        await store.TryStartAsync(ended.Id, T0, None);
        await store.CompleteAsync(ended.Id, new FitCompletion(FitStatus.Succeeded, "steps", 1, [1], 1, [1], null, T0), None);
        await store.TryStartAsync(cancelled.Id, T0, None);
        await store.RequestCancelAsync("t1", cancelled.Id, T0, None);

        var starts = await store.TryStartManyAsync([queued.Id, again.Id, ended.Id, cancelled.Id, "missing"], T0.AddSeconds(1), None);

        Assert.Equal([queued.Id, again.Id, ended.Id, cancelled.Id, "missing"], starts.Select(s => s.Id));
        Assert.Equal([StartOutcome.Run, StartOutcome.Run, StartOutcome.Ended, StartOutcome.CancelledNow, StartOutcome.Missing],
            starts.Select(s => s.Start.Outcome));
        Assert.Equal(queued.X, starts[0].Points!.X);
        Assert.Equal(queued.Y, starts[0].Points!.Y);
        Assert.True(starts[1].Start.Attempt > firstAttempt.Attempt);
        Assert.Empty((await store.GetAsync("t1", again.Id, true, None))!.History!);
        Assert.All(starts.Skip(2), s => Assert.Null(s.Points));
        Assert.Equal(FitStatus.Cancelled, (await store.GetAsync("t1", cancelled.Id, false, None))!.Status);

        var done = new FitCompletion(FitStatus.Succeeded, "steps", 3, [1, 2, 3], 0.5, [3, 2, 1], null, T0.AddSeconds(2), "{\"optimumPending\":true}");
        // As FitJob does: a start the store did not write goes with the end (ChunkStart.Completing).
        var endedNow = await store.CompleteManyAsync([.. starts.Take(3).Append(starts[4]).Select(s => (s.Id, s.Completing(done)))], None);

        Assert.Equal([queued.Id, again.Id], endedNow);
        var stored = (await store.GetAsync("t1", again.Id, true, None))!;
        Assert.Equal(FitStatus.Succeeded, stored.Status);
        Assert.Equal(new double[] { 3, 2, 1 }, stored.History!);
        Assert.Equal(new double[] { 1 }, (await store.GetAsync("t1", ended.Id, false, None))!.Params!);

        const string optimum = "{\"optimum\":{\"loss\":0.25},\"gap\":0.25}";
        await store.SaveOutcomesAsync([(queued.Id, optimum), (again.Id, optimum), ("missing", optimum)], None);
        Assert.Equal(optimum, (await store.GetAsync("t1", queued.Id, false, None))!.OutcomeJson);
        Assert.Equal(optimum, (await store.GetAsync("t1", again.Id, false, None))!.OutcomeJson);
    }

    [ConditionalFact]
    public async Task AChunkWithMixedOutcomesLeavesEveryFitExactlyAsTheSameStartsAndEndsOneByOne()
    {
        var store = await NewStoreAsync();
        // Each case twice: one copy goes through a chunk's start and end, the other through the single-fit calls.
        string[] cases = ["fresh", "restarted", "diverged", "cancelAtStart", "endedBefore", "emptyHistory"];
        var chunk = cases.ToDictionary(c => c, _ => AFit());
        var alone = cases.ToDictionary(c => c, _ => AFit());
        foreach (var copies in new[] { chunk, alone })
        {
            foreach (var fit in copies.Values) await store.CreateAsync(fit, None);
            // An attempt that saved progress, then stopped (a crash): the next start drops that history.
            var first = await store.TryStartAsync(copies["restarted"].Id, T0, None);
            await store.SaveProgressAsync(copies["restarted"].Id, new FitProgressUpdate(first.Attempt, 3, [1, 1, 1], 2, 0, [5, 4, 3]), None);
            await store.TryStartAsync(copies["cancelAtStart"].Id, T0, None);
            await store.RequestCancelAsync("t1", copies["cancelAtStart"].Id, T0, None);
            await store.TryStartAsync(copies["endedBefore"].Id, T0, None);
            await store.CompleteAsync(copies["endedBefore"].Id, new FitCompletion(FitStatus.Succeeded, "steps", 1, [1], 1, [1], null, T0), None);
        }
        var at = T0.AddSeconds(1);
        var chunkStarts = (await store.TryStartManyAsync([.. cases.Select(c => chunk[c].Id)], at, None)).ToDictionary(s => s.Id);
        var aloneStarts = new Dictionary<string, StartResult>();
        foreach (var c in cases) aloneStarts[c] = await store.TryStartAsync(alone[c].Id, at, None);
        foreach (var c in cases)
        {
            var (viaChunk, viaAlone) = (chunkStarts[chunk[c].Id].Start, aloneStarts[c]);
            Assert.Equal((viaAlone.Outcome, viaAlone.Attempt), (viaChunk.Outcome, viaChunk.Attempt));
            Assert.Equal(Comparable(viaAlone.Fit), Comparable(viaChunk.Fit));
            Assert.Equal(viaChunk.Outcome == StartOutcome.Run, chunkStarts[chunk[c].Id].Points is not null);
        }
        // The running attempt of the restarted fit saves progress too: its end must replace that history, not add to it.
        foreach (var copies in new[] { chunk, alone })
        {
            var attempt = (await store.GetForWorkerAsync(copies["restarted"].Id, None))!.Attempt;
            await store.SaveProgressAsync(copies["restarted"].Id, new FitProgressUpdate(attempt, 2, [2, 2, 2], 1.5, 0, [9, 8]), None);
        }
        FitCompletion End(string c) => c switch
        {
            "diverged" => new FitCompletion(FitStatus.Failed, "diverged", 4, [double.NaN, 1, 2], double.NaN, [3, double.PositiveInfinity], "the loss diverged", at.AddSeconds(1)),
            "emptyHistory" => new FitCompletion(FitStatus.Succeeded, "steps", 0, [0, 0, 0], 0.75, [], null, at.AddSeconds(1)),
            "restarted" => new FitCompletion(FitStatus.Succeeded, "converged", 4, [1, 2, 3], 0.25, [9, 8, 7, 6], null, at.AddSeconds(1), "{\"gap\":0}"),
            _ => new FitCompletion(FitStatus.Succeeded, "steps", 3, [1, 2, 3], 0.5, [3, 2, 1], null, at.AddSeconds(1), "{\"optimumPending\":true}") { OptimumPending = true },
        };
        var chunkEnded = await store.CompleteManyAsync([.. cases.Select(c => (chunk[c].Id, chunkStarts[chunk[c].Id].Completing(End(c))))], None);
        var aloneEnded = new List<string>();
        foreach (var c in cases)
        {
            if (await store.CompleteAsync(alone[c].Id, End(c), None)) aloneEnded.Add(c);
        }

        Assert.Equal(aloneEnded, cases.Where(c => chunkEnded.Contains(chunk[c].Id)));
        Assert.Equal(["fresh", "restarted", "diverged", "emptyHistory"], aloneEnded);
        foreach (var c in cases)
        {
            var (viaChunk, viaAlone) = ((await store.GetAsync("t1", chunk[c].Id, true, None))!, (await store.GetAsync("t1", alone[c].Id, true, None))!);
            Assert.Equal(Comparable(viaAlone), Comparable(viaChunk));
            Assert.Equal(viaAlone.History, viaChunk.History);
            Assert.Equal(viaAlone.Params, viaChunk.Params);
        }
        Assert.Equal(new double[] { 9, 8, 7, 6 }, (await store.GetAsync("t1", chunk["restarted"].Id, true, None))!.History);
        Assert.Empty((await store.GetAsync("t1", chunk["emptyHistory"].Id, true, None))!.History!);
        var pending = await store.ListPendingOptimaAsync(at.AddMinutes(1), 100, None);
        Assert.Contains(chunk["fresh"].Id, pending);
        Assert.Contains(alone["fresh"].Id, pending);
        Assert.DoesNotContain(chunk["restarted"].Id, pending);

        // All but what differs by construction (id, seq); arrays are compared apart.
        static FitRecord? Comparable(FitRecord? fit) => fit is null ? null : fit with { Id = "", Seq = 0, Params = null, History = null };
    }

    [ConditionalFact]
    public async Task TheOutcomeIsStoredWithTheCompletionAndTheKindWithTheFit()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        var finder = AFit() with { Kind = FitKinds.LearningRateFinder };
        await store.CreateAsync(fit, None);
        Assert.Equal(FitKinds.LearningRateFinder, (await store.CreateAsync(finder, None)).Fit!.Kind);
        Assert.Null((await store.GetAsync("t1", fit.Id, false, None))!.OutcomeJson);

        var start = await store.TryStartAsync(fit.Id, T0, None);
        Assert.Equal(FitKinds.Fit, start.Fit!.Kind);
        const string outcome = "{\"optimum\":{\"loss\":1.5},\"gap\":0.25}";
        Assert.True(await store.CompleteAsync(fit.Id, new FitCompletion(FitStatus.Succeeded, "steps", 1, [1], 1.75, [2], null, T0, outcome), None));

        Assert.Equal(outcome, (await store.GetAsync("t1", fit.Id, true, None))!.OutcomeJson);
        Assert.Equal(FitKinds.LearningRateFinder, (await store.GetForWorkerAsync(finder.Id, None))!.Kind);
        // Finder runs share the table but are not fits: lists leave them out.
        var listed = await store.ListAsync("t1", new FitQuery(null, null, 10, null), None);
        Assert.Equal([fit.Id], listed.Select(f => f.Id));
    }

    [ConditionalFact]
    public async Task NonFiniteValuesSurviveInParamsAndHistory()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        await store.CreateAsync(fit, None);
        await store.TryStartAsync(fit.Id, T0, None);
        var failed = new FitCompletion(FitStatus.Failed, "diverged", 3, [1, 2, 3], double.PositiveInfinity,
            [1, 1e300, double.PositiveInfinity], "diverged", T0);
        await store.CompleteAsync(fit.Id, failed, None);

        var got = await store.GetAsync("t1", fit.Id, true, None);
        Assert.Null(got!.Loss);
        Assert.Equal([1, 1e300, double.PositiveInfinity], got.History!);
        Assert.Equal("diverged", got.Error);
    }

    [ConditionalFact]
    public async Task ARestartedAttemptClearsProgressAndIgnoresTheOldAttempt()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        await store.CreateAsync(fit, None);
        var first = await store.TryStartAsync(fit.Id, T0, None);
        await store.SaveProgressAsync(fit.Id, new FitProgressUpdate(first.Attempt, 3, [1, 1, 1], 2, 0, [5, 4, 3]), None);

        var second = await store.TryStartAsync(fit.Id, T0.AddMinutes(1), None);
        Assert.Equal(StartOutcome.Run, second.Outcome);
        Assert.True(second.Attempt > first.Attempt);
        var cleared = await store.GetAsync("t1", fit.Id, true, None);
        Assert.Empty(cleared!.History!);
        Assert.Equal(0, cleared.Step);
        Assert.Equal(T0, cleared.StartedAt);

        await store.SaveProgressAsync(fit.Id, new FitProgressUpdate(first.Attempt, 4, [2, 2, 2], 1, 3, [2]), None);
        Assert.Empty((await store.GetAsync("t1", fit.Id, true, None))!.History!);
    }

    [ConditionalFact]
    public async Task CancellingAQueuedFitEndsItAtOnce()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        await store.CreateAsync(fit, None);

        Assert.Equal(CancelOutcome.Cancelled, await store.RequestCancelAsync("t1", fit.Id, T0, None));
        var got = await store.GetAsync("t1", fit.Id, false, None);
        Assert.Equal(FitStatus.Cancelled, got!.Status);
        Assert.Equal("cancelled", got.StopReason);
        Assert.Equal(StartOutcome.Ended, (await store.TryStartAsync(fit.Id, T0, None)).Outcome);
        Assert.Equal(CancelOutcome.AlreadyEnded, await store.RequestCancelAsync("t1", fit.Id, T0, None));
    }

    [ConditionalFact]
    public async Task CancellingARunningFitIsSeenByTheWorkerAndByARestart()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        await store.CreateAsync(fit, None);
        var start = await store.TryStartAsync(fit.Id, T0, None);

        Assert.Equal(CancelOutcome.Requested, await store.RequestCancelAsync("t1", fit.Id, T0, None));
        Assert.True(await store.SaveProgressAsync(fit.Id, new FitProgressUpdate(start.Attempt, 1, [0, 0, 0], 1, 0, [1]), None));
        // A worker that died before seeing the request: the next start ends the fit instead of running it.
        var restart = await store.TryStartAsync(fit.Id, T0, None);
        Assert.Equal(StartOutcome.CancelledNow, restart.Outcome);
        Assert.Equal(FitStatus.Cancelled, (await store.GetAsync("t1", fit.Id, false, None))!.Status);
    }

    [ConditionalFact]
    public async Task DeleteRemovesTheFitAndItsData()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        await store.CreateAsync(fit, None);

        Assert.True(await store.DeleteAsync("t1", fit.Id, None));
        Assert.Null(await store.GetAsync("t1", fit.Id, true, None));
        Assert.Null(await store.GetPointsAsync(fit.Id, None));
        Assert.Equal(StartOutcome.Missing, (await store.TryStartAsync(fit.Id, T0, None)).Outcome);
        Assert.False(await store.DeleteAsync("t1", fit.Id, None));
    }

    [ConditionalFact]
    public async Task ListIsNewestFirstWithFiltersAndCursor()
    {
        var store = await NewStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var fit = AFit(label: i % 2 == 0 ? "even" : "odd");
            await store.CreateAsync(fit, None);
            ids.Add(fit.Id);
        }
        await store.RequestCancelAsync("t1", ids[4], T0, None);

        var page1 = await store.ListAsync("t1", new FitQuery(null, null, 2, null), None);
        Assert.Equal([ids[4], ids[3]], page1.Select(f => f.Id));
        var page2 = await store.ListAsync("t1", new FitQuery(null, null, 2, page1[^1].Seq), None);
        Assert.Equal([ids[2], ids[1]], page2.Select(f => f.Id));
        var evens = await store.ListAsync("t1", new FitQuery(null, "even", 10, null), None);
        Assert.Equal([ids[4], ids[2], ids[0]], evens.Select(f => f.Id));
        var queuedEvens = await store.ListAsync("t1", new FitQuery(FitStatus.Queued, "even", 10, null), None);
        Assert.Equal([ids[2], ids[0]], queuedEvens.Select(f => f.Id));
        Assert.All(page1, f => Assert.Null(f.History));
    }

    [ConditionalFact]
    public async Task HistoryPagesAreSlicesOfTheWhole()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        await store.CreateAsync(fit, None);
        await store.TryStartAsync(fit.Id, T0, None);
        var history = Enumerable.Range(0, 10).Select(i => 10.0 - i).ToArray();
        await store.CompleteAsync(fit.Id, new FitCompletion(FitStatus.Succeeded, "steps", 10, [1, 1, 1], 0.5, history, null, T0), None);

        var page = await store.GetHistoryAsync("t1", fit.Id, 3, 4, None);
        Assert.Equal([7.0, 6, 5, 4], page!.Value.Page);
        Assert.Equal(10, page.Value.Total);
        Assert.Empty((await store.GetHistoryAsync("t1", fit.Id, 20, 4, None))!.Value.Page);
    }

    [ConditionalFact]
    public async Task ACappedReadHasTheFirstEntriesAndTheTotalAcrossChunks()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        await store.CreateAsync(fit, None);
        var start = await store.TryStartAsync(fit.Id, T0, None);
        await store.SaveProgressAsync(fit.Id, new FitProgressUpdate(start.Attempt, 3, [1, 2, 3], 5.0, 0, [9, 8, 7]), None);
        await store.SaveProgressAsync(fit.Id, new FitProgressUpdate(start.Attempt, 6, [1, 2, 3], 4.0, 3, [6, 5, 4]), None);

        var capped = await store.GetAsync("t1", fit.Id, 4, None);
        Assert.Equal([9.0, 8, 7, 6], capped!.History!);
        Assert.Equal(6, capped.HistoryTotal);
        var none = await store.GetAsync("t1", fit.Id, 0, None);
        Assert.Null(none!.History);
        Assert.Null(none.HistoryTotal);
        var page = await store.GetHistoryAsync("t1", fit.Id, 2, 3, None);
        Assert.Equal([7.0, 6, 5], page!.Value.Page);
        Assert.Equal(6, page.Value.Total);
        var whole = await store.GetAsync("t1", fit.Id, 100, None);
        Assert.Equal([9.0, 8, 7, 6, 5, 4], whole!.History!);
        Assert.Equal(6, whole.HistoryTotal);
    }

    [ConditionalFact]
    public async Task AFinderRunIsNeverReadAsAFitNorAFitAsAFinderRun()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        var finder = AFit() with { Kind = FitKinds.LearningRateFinder };
        await store.CreateAsync(fit, None);
        await store.CreateAsync(finder, None);

        Assert.Null(await store.GetAsync("t1", finder.Id, true, None));
        Assert.Null(await store.GetAsync("t1", finder.Id, 10, None));
        Assert.Null(await store.GetHistoryAsync("t1", finder.Id, 0, 10, None));
        Assert.Null(await store.GetFinderRunAsync("t1", fit.Id, None));
        Assert.Equal(finder.Id, (await store.GetFinderRunAsync("t1", finder.Id, None))!.Id);
        Assert.Null(await store.GetFinderRunAsync("other", finder.Id, None));
    }

    [ConditionalFact]
    public async Task UnfinishedAndActiveCountsFollowTheStatus()
    {
        var store = await NewStoreAsync();
        var a = AFit(); var b = AFit(); var c = AFit();
        foreach (var f in new[] { a, b, c }) await store.CreateAsync(f, None);
        await store.TryStartAsync(b.Id, T0, None);
        await store.TryStartAsync(c.Id, T0, None);
        await store.CompleteAsync(c.Id, new FitCompletion(FitStatus.Succeeded, "steps", 1, [0, 0, 0], 0, [1], null, T0), None);

        Assert.Equal([a.Id, b.Id], await store.ListUnfinishedAsync(None));
        Assert.Equal(2, await store.CountActiveAsync("t1", None));
        Assert.Equal(0, await store.CountActiveAsync("t2", None));
        await store.PingAsync(None);
    }

    [ConditionalFact]
    public async Task InitializeIsIdempotent()
    {
        var store = await NewStoreAsync();
        var fit = AFit();
        await store.CreateAsync(fit, None);
        await store.InitializeAsync(None);
        Assert.NotNull(await store.GetAsync("t1", fit.Id, false, None));
    }

    [ConditionalFact]
    public async Task ConcurrentWritersLoseNothing()
    {
        var store = await NewStoreAsync();
        var fits = Enumerable.Range(0, 200).Select(_ => AFit(points: 50)).ToArray();
        await Task.WhenAll(fits.Select(f => Task.Run(() => store.CreateAsync(f, None))));
        await Task.WhenAll(fits.Select(f => Task.Run(async () =>
        {
            var s = await store.TryStartAsync(f.Id, T0, None);
            await store.SaveProgressAsync(f.Id, new FitProgressUpdate(s.Attempt, 1, [1, 2, 3], 1, 0, [2]), None);
            await store.CompleteAsync(f.Id, new FitCompletion(FitStatus.Succeeded, "steps", 2, [1, 2, 3], 0.5, [2, 1], null, T0), None);
        })));

        var all = await store.ListAsync("t1", new FitQuery(FitStatus.Succeeded, null, 1000, null), None);
        Assert.Equal(200, all.Count);
        Assert.Empty(await store.ListUnfinishedAsync(None));
    }

    private static NewBatch ABatch(string id, string tenant = "t1") => new(id, tenant, T0, "b-label", "{\"webhook\":null}");

    [ConditionalFact]
    public async Task ABatchIsStoredWithItsFitsInSubmissionOrder()
    {
        var store = await NewStoreAsync();
        var batchId = Guid.NewGuid().ToString("N");
        var fits = Enumerable.Range(0, 50).Select(i => AFit(label: $"item-{i}") with { BatchId = batchId }).ToList();
        await store.CreateBatchAsync(ABatch(batchId), fits, None);

        var batch = await store.GetBatchAsync("t1", batchId, None);
        Assert.NotNull(batch);
        Assert.Equal(fits.Select(f => f.Id), batch.FitIds);
        Assert.Equal(50, batch.Counts[FitStatus.Queued]);
        Assert.Equal("b-label", batch.Label);
        Assert.Equal(T0, batch.CreatedAt);
        Assert.False(batch.IsEnded);
        var stored = await store.ListBatchFitsAsync("t1", batchId, None);
        Assert.Equal(fits.Select(f => f.Label), stored.Select(f => f.Label));
        Assert.Equal(fits[7].X, (await store.GetPointsAsync(fits[7].Id, None))!.X);
        Assert.All(stored, f => Assert.Equal(batchId, f.BatchId));
    }

    [ConditionalFact]
    public async Task SameBatchIdempotencyKeyStoresOneBatchPerTenantAndConflictsOnOtherContent()
    {
        var store = await NewStoreAsync();
        var key = "batch-key-" + Guid.NewGuid().ToString("N");
        async Task<(BatchCreateResult Result, string Id, List<NewFit> Fits)> Create(string tenant, string hash)
        {
            var batchId = Guid.NewGuid().ToString("N");
            var fits = Enumerable.Range(0, 3).Select(_ => AFit(tenant: tenant) with { BatchId = batchId }).ToList();
            return (await store.CreateBatchAsync(ABatch(batchId, tenant) with { IdempotencyKey = key, RequestHash = hash }, fits, None), batchId, fits);
        }

        var (first, firstId, _) = await Create("t1", "h1");
        var (replay, replayId, replayFits) = await Create("t1", "h1");
        var (conflict, _, _) = await Create("t1", "h2");
        var (otherTenant, otherId, _) = await Create("t2", "h1");

        Assert.Equal(new BatchCreateResult(CreateOutcome.Created, firstId), first);
        Assert.Equal(new BatchCreateResult(CreateOutcome.Existing, firstId), replay);
        Assert.Equal(new BatchCreateResult(CreateOutcome.Conflict, firstId), conflict);
        Assert.Equal(new BatchCreateResult(CreateOutcome.Created, otherId), otherTenant);
        Assert.Null(await store.GetBatchAsync("t1", replayId, None));
        Assert.Null(await store.GetAsync("t1", replayFits[0].Id, includeHistory: false, None));
        Assert.Equal(3, (await store.GetBatchAsync("t1", firstId, None))!.Total);
    }

    [ConditionalFact]
    public async Task ConcurrentBatchesWithOneIdempotencyKeyStoreOnlyOne()
    {
        var store = await NewStoreAsync();
        var key = "race-" + Guid.NewGuid().ToString("N");
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            var batchId = Guid.NewGuid().ToString("N");
            var fits = Enumerable.Range(0, 20).Select(_ => AFit() with { BatchId = batchId }).ToList();
            return store.CreateBatchAsync(ABatch(batchId) with { IdempotencyKey = key, RequestHash = "same" }, fits, None);
        })));

        Assert.Single(results, r => r.Outcome == CreateOutcome.Created);
        Assert.All(results, r => Assert.NotEqual(CreateOutcome.Conflict, r.Outcome));
        Assert.Single(results.Select(r => r.BatchId).Distinct());
        Assert.Equal(20, (await store.GetBatchAsync("t1", results[0].BatchId, None))!.Total);
    }

    [ConditionalFact]
    public async Task BatchCountsFollowTheFits()
    {
        var store = await NewStoreAsync();
        var batchId = Guid.NewGuid().ToString("N");
        var fits = Enumerable.Range(0, 3).Select(_ => AFit() with { BatchId = batchId }).ToList();
        await store.CreateBatchAsync(ABatch(batchId), fits, None);
        await store.TryStartAsync(fits[0].Id, T0, None);
        await store.CompleteAsync(fits[0].Id, new FitCompletion(FitStatus.Succeeded, "steps", 1, [1, 1, 1], 1, [2], null, T0), None);
        await store.TryStartAsync(fits[1].Id, T0, None);

        var batch = await store.GetBatchAsync("t1", batchId, None);
        Assert.Equal(1, batch!.Counts[FitStatus.Succeeded]);
        Assert.Equal(1, batch.Counts[FitStatus.Running]);
        Assert.Equal(1, batch.Counts[FitStatus.Queued]);
        Assert.Equal(1, batch.Ended);
        Assert.True(await store.HasUnfinishedFitsAsync(batchId, None));

        await store.CompleteAsync(fits[1].Id, new FitCompletion(FitStatus.Succeeded, "steps", 1, [1, 1, 1], 1, [2], null, T0), None);
        await store.RequestCancelAsync("t1", fits[2].Id, T0, None);
        Assert.False(await store.HasUnfinishedFitsAsync(batchId, None));
        Assert.True((await store.GetBatchAsync("t1", batchId, None))!.IsEnded);
    }

    [ConditionalFact]
    public async Task ABatchIsAllOrNothing()
    {
        var store = await NewStoreAsync();
        var batchId = Guid.NewGuid().ToString("N");
        var twin = AFit() with { BatchId = batchId };
        await Assert.ThrowsAnyAsync<Exception>(() => store.CreateBatchAsync(ABatch(batchId), [AFit() with { BatchId = batchId }, twin, twin], None));

        Assert.Null(await store.GetBatchAsync("t1", batchId, None));
        Assert.Empty(await store.ListAsync("t1", new FitQuery(null, null, 10, null), None));
    }

    [ConditionalFact]
    public async Task BatchesAreScopedByTenantAndDeletedWithTheirFits()
    {
        var store = await NewStoreAsync();
        var batchId = Guid.NewGuid().ToString("N");
        var fits = Enumerable.Range(0, 3).Select(_ => AFit() with { BatchId = batchId }).ToList();
        await store.CreateBatchAsync(ABatch(batchId), fits, None);

        Assert.Null(await store.GetBatchAsync("t2", batchId, None));
        Assert.Empty(await store.ListBatchFitsAsync("t2", batchId, None));
        Assert.False(await store.DeleteBatchAsync("t2", batchId, None));
        Assert.True(await store.DeleteBatchAsync("t1", batchId, None));
        Assert.Null(await store.GetBatchAsync("t1", batchId, None));
        Assert.Null(await store.GetAsync("t1", fits[0].Id, false, None));
        Assert.Null(await store.GetPointsAsync(fits[0].Id, None));
    }
}
