using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;

namespace FitService.Api.Tests.Storage;

/// <summary>
/// What every <see cref="IDeliveryStore"/> must do. Each provider runs this same suite against a real database
/// (<see cref="SqliteDeliveryStoreTests"/>, <see cref="PostgresDeliveryStoreTests"/>). The fit store comes along because
/// the delivery store reads the fits table to find ended fits that have no event yet.
/// </summary>
public abstract class DeliveryStoreContract
{
    /// <summary>A fresh, initialised fit store and delivery store (in that order) over one empty database.</summary>
    protected abstract Task<(IFitStore Fits, IDeliveryStore Deliveries)> NewStoresAsync();

    /// <summary>What <paramref name="sql"/> (a <c>SELECT COUNT(*)</c>) counts in the database of the last <see cref="NewStoresAsync"/>.</summary>
    protected abstract Task<long> CountAsync(string sql);

    protected static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 15, 2, 123, TimeSpan.Zero);
    protected static readonly CancellationToken None = CancellationToken.None;

    protected const string WithWebhook = "{\"degree\":2,\"webhook\":{\"url\":\"https://hooks.example/fits\"}}";

    protected static NewWebhookEvent AnEvent(string? fitId = null, DateTimeOffset? createdAt = null, string payload = "{\"type\":\"fit.succeeded\",\"name\":\"Ωmega ✓\"}")
    {
        var fit = fitId ?? Guid.NewGuid().ToString("N");
        return new NewWebhookEvent("msg_" + fit, fit, "t1", "https://hooks.example/fits", "fit.succeeded", payload, createdAt ?? T0);
    }

    private static NewFit AFit(string requestJson) =>
        new(Guid.NewGuid().ToString("N"), "t1", T0, requestJson, [0, 1, 2], [1, 3, 5], Steps: 10, HistoryEvery: 1, Label: null, IdempotencyKey: null, RequestHash: "h1");

    private static DeliveryAttempt Attempt(int n, DateTimeOffset at, int? status = 500, string? error = null) =>
        new(n, at, TimeSpan.FromMilliseconds(1234), status, error);

    [ConditionalFact]
    public async Task CreateStoresAPendingEventDueAtOnceAndIsIdempotentPerFit()
    {
        var (_, store) = await NewStoresAsync();
        var e = AnEvent();

        var created = await store.CreateEventAsync(e, None);
        Assert.Equal(e.Id, created.Id);
        Assert.Equal(e.FitId, created.FitId);
        Assert.Equal("t1", created.Tenant);
        Assert.Equal(e.Url, created.Url);
        Assert.Equal("fit.succeeded", created.Type);
        Assert.Equal(e.Payload, created.Payload);
        Assert.Equal(T0, created.CreatedAt);
        Assert.Equal(DeliveryState.Pending, created.State);
        Assert.Equal(0, created.Attempts);
        Assert.Equal(0, created.RoundStart);
        Assert.Equal(T0, created.NextAttemptAt);
        Assert.Null(created.ClaimedUntil);

        // A second create for the same fit (a duplicated end, a recovery pass) returns the first event unchanged.
        var again = await store.CreateEventAsync(e with { Id = "msg_other", Payload = "{}", CreatedAt = T0.AddMinutes(5) }, None);
        Assert.Equal(created, again);
        Assert.Null(await store.GetEventAsync("msg_other", None));

        Assert.Equal(created, await store.GetEventAsync(e.Id, None));
        Assert.Equal(created, await store.GetEventForFitAsync(e.FitId, None));
        Assert.Null(await store.GetEventAsync("msg_missing", None));
        Assert.Null(await store.GetEventForFitAsync("missing", None));
        Assert.Empty(await store.ListAttemptsAsync(e.Id, None));
    }

    [ConditionalFact]
    public async Task AnEventIsClaimedOnlyWhenDueAndNotClaimedAndALapsedClaimCanBeTakenAgain()
    {
        var (_, store) = await NewStoresAsync();
        var e = await store.CreateEventAsync(AnEvent(createdAt: T0), None);

        // Not due yet (even with some tolerance that falls short).
        Assert.Null(await store.TryClaimAsync(e.Id, T0.AddSeconds(-5), T0.AddMilliseconds(-1), T0.AddSeconds(25), None));

        var claim = await store.TryClaimAsync(e.Id, T0.AddSeconds(-1), T0, T0.AddSeconds(30), None);
        Assert.NotNull(claim);
        Assert.Equal(1, claim.Attempt);
        Assert.Equal(1, claim.AttemptInRound);
        Assert.Equal(e.Id, claim.Event.Id);
        Assert.Equal(e.Payload, claim.Event.Payload);
        Assert.Equal(1, claim.Event.Attempts);
        Assert.Equal(T0.AddSeconds(30), claim.Event.ClaimedUntil);
        Assert.Equal(claim.Event, await store.GetEventAsync(e.Id, None));

        // Held: nobody else gets it, right up to the moment the claim lapses.
        Assert.Null(await store.TryClaimAsync(e.Id, T0.AddSeconds(1), T0.AddSeconds(1), T0.AddSeconds(31), None));
        Assert.Null(await store.TryClaimAsync(e.Id, T0.AddSeconds(30).AddMilliseconds(-1), T0.AddSeconds(30), T0.AddSeconds(60), None));

        // Its holder died: the claim lapses and the next attempt can be taken.
        var retaken = await store.TryClaimAsync(e.Id, T0.AddSeconds(30), T0.AddSeconds(30), T0.AddSeconds(60), None);
        Assert.NotNull(retaken);
        Assert.Equal(2, retaken.Attempt);
        Assert.Equal(2, retaken.AttemptInRound);
        Assert.Equal(T0.AddSeconds(60), retaken.Event.ClaimedUntil);

        Assert.Null(await store.TryClaimAsync("msg_missing", T0, T0, T0.AddSeconds(30), None));
    }

    [ConditionalFact]
    public async Task AnEventStoredClaimedHasItsFirstAttemptHeldUntilTheClaimLapsesThenAnyoneRetriesIt()
    {
        var (fits, store) = await NewStoresAsync();
        var fit = AFit(WithWebhook);
        await fits.CreateAsync(fit, None);
        var e = AnEvent(fit.Id, createdAt: T0);

        var claim = await store.CreateClaimedEventAsync(e, T0.AddSeconds(30), None);
        Assert.NotNull(claim);
        Assert.Equal(1, claim.Attempt);
        Assert.Equal(1, claim.AttemptInRound);
        Assert.Equal(e.Id, claim.Event.Id);
        Assert.Equal(e.FitId, claim.Event.FitId);
        Assert.Equal(e.Url, claim.Event.Url);
        Assert.Equal(e.Payload, claim.Event.Payload);
        Assert.Equal(DeliveryState.Pending, claim.Event.State);
        Assert.Equal(1, claim.Event.Attempts);
        Assert.Equal(T0, claim.Event.NextAttemptAt);
        Assert.Equal(T0.AddSeconds(30), claim.Event.ClaimedUntil);
        Assert.Equal(claim.Event, await store.GetEventAsync(e.Id, None));

        // Held by its creator: no other claim, and pending at the claim's lapse (what a recovery sweep reads).
        Assert.Null(await store.TryClaimAsync(e.Id, T0.AddSeconds(1), T0.AddSeconds(1), T0.AddSeconds(31), None));
        Assert.Equal(new[] { (e.Id, T0.AddSeconds(30)) }, await store.ListPendingAsync(null, None));

        // Its creator died before the attempt was recorded: after the lapse, anyone takes the second attempt.
        var retaken = await store.TryClaimAsync(e.Id, T0.AddSeconds(30), T0.AddSeconds(30), T0.AddSeconds(60), None);
        Assert.NotNull(retaken);
        Assert.Equal(2, retaken.Attempt);

        // Recorded like any claimed attempt.
        await store.RecordAttemptAsync(e.Id, Attempt(2, T0.AddSeconds(30), 200), DeliveryState.Delivered, null, None);
        Assert.Equal(DeliveryState.Delivered, (await store.GetEventAsync(e.Id, None))!.State);
    }

    [ConditionalFact]
    public async Task AClaimedCreateStoresNothingForAFitThatHasAnEventOrIsGone()
    {
        var (fits, store) = await NewStoresAsync();
        var fit = AFit(WithWebhook);
        await fits.CreateAsync(fit, None);
        var first = await store.CreateEventAsync(AnEvent(fit.Id), None);

        // Whoever made the event delivers it: it is left as it is.
        Assert.Null(await store.CreateClaimedEventAsync(AnEvent(fit.Id) with { Payload = "{}" }, T0.AddSeconds(30), None));
        Assert.Equal(first, await store.GetEventAsync(first.Id, None));

        // A deleted (or never stored) fit gets no event to send.
        var deleted = AFit(WithWebhook);
        await fits.CreateAsync(deleted, None);
        Assert.True(await fits.DeleteAsync("t1", deleted.Id, None));
        Assert.Null(await store.CreateClaimedEventAsync(AnEvent(deleted.Id), T0.AddSeconds(30), None));
        Assert.Null(await store.CreateClaimedEventAsync(AnEvent("missing"), T0.AddSeconds(30), None));
        Assert.Null(await store.GetEventForFitAsync(deleted.Id, None));
        Assert.Null(await store.GetEventForFitAsync("missing", None));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM webhook_events"));
    }

    [ConditionalFact]
    public async Task ConcurrentClaimsOfOneAttemptHaveOneWinner()
    {
        var (_, store) = await NewStoresAsync();
        var e = await store.CreateEventAsync(AnEvent(), None);

        using var go = new ManualResetEventSlim();
        var racers = Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
        {
            go.Wait();
            return store.TryClaimAsync(e.Id, T0, T0, T0.AddSeconds(30), None);
        })).ToArray();
        go.Set();
        var claims = await Task.WhenAll(racers);

        var winner = Assert.Single(claims, c => c is not null);
        Assert.Equal(1, winner!.Attempt);
        Assert.Equal(1, (await store.GetEventAsync(e.Id, None))!.Attempts);
    }

    [ConditionalFact]
    public async Task RecordingAnAttemptReleasesTheClaimAndSetsTheNextState()
    {
        var (_, store) = await NewStoresAsync();
        var e = await store.CreateEventAsync(AnEvent(), None);

        var first = await store.TryClaimAsync(e.Id, T0, T0, T0.AddSeconds(30), None);
        await store.RecordAttemptAsync(e.Id, Attempt(first!.Attempt, T0.AddMilliseconds(5), 503), DeliveryState.Pending, T0.AddSeconds(10), None);

        var waiting = await store.GetEventAsync(e.Id, None);
        Assert.Equal(DeliveryState.Pending, waiting!.State);
        Assert.Equal(1, waiting.Attempts);
        Assert.Equal(T0.AddSeconds(10), waiting.NextAttemptAt);
        Assert.Null(waiting.ClaimedUntil);

        // Released, but not due before its next time.
        Assert.Null(await store.TryClaimAsync(e.Id, T0.AddSeconds(5), T0.AddSeconds(5), T0.AddSeconds(35), None));
        var second = await store.TryClaimAsync(e.Id, T0.AddSeconds(9), T0.AddSeconds(10), T0.AddSeconds(40), None);
        Assert.Equal(2, second!.Attempt);
        Assert.Equal(2, second.AttemptInRound);
        await store.RecordAttemptAsync(e.Id, Attempt(2, T0.AddSeconds(9), 200), DeliveryState.Delivered, null, None);

        var delivered = await store.GetEventAsync(e.Id, None);
        Assert.Equal(DeliveryState.Delivered, delivered!.State);
        Assert.Equal(2, delivered.Attempts);
        Assert.Null(delivered.NextAttemptAt);
        Assert.Null(delivered.ClaimedUntil);
        Assert.Null(await store.TryClaimAsync(e.Id, T0.AddHours(1), T0.AddHours(1), T0.AddHours(2), None));

        Assert.Equal(
            [Attempt(1, T0.AddMilliseconds(5), 503), Attempt(2, T0.AddSeconds(9), 200)],
            await store.ListAttemptsAsync(e.Id, None));
    }

    [ConditionalFact]
    public async Task AnAttemptWithAnErrorAndNoStatusIsKept()
    {
        var (_, store) = await NewStoresAsync();
        var e = await store.CreateEventAsync(AnEvent(), None);
        var claim = await store.TryClaimAsync(e.Id, T0, T0, T0.AddSeconds(30), None);
        var attempt = new DeliveryAttempt(claim!.Attempt, T0, TimeSpan.FromSeconds(10), null, "timeout after 10 s");
        await store.RecordAttemptAsync(e.Id, attempt, DeliveryState.Failed, null, None);

        Assert.Equal([attempt], await store.ListAttemptsAsync(e.Id, None));
        Assert.Equal(DeliveryState.Failed, (await store.GetEventAsync(e.Id, None))!.State);
    }

    [ConditionalFact]
    public async Task ALateRecordOfALapsedClaimDoesNotReleaseTheNewHoldersClaim()
    {
        var (_, store) = await NewStoresAsync();
        var e = await store.CreateEventAsync(AnEvent(), None);
        await store.TryClaimAsync(e.Id, T0, T0, T0.AddSeconds(30), None);
        var takeover = await store.TryClaimAsync(e.Id, T0.AddSeconds(30), T0.AddSeconds(30), T0.AddSeconds(60), None);
        Assert.Equal(2, takeover!.Attempt);

        // The first holder was only slow: its attempt is recorded, but the event stays with the second holder.
        await store.RecordAttemptAsync(e.Id, Attempt(1, T0, 500), DeliveryState.Pending, T0.AddSeconds(40), None);

        var held = await store.GetEventAsync(e.Id, None);
        Assert.Equal(T0.AddSeconds(60), held!.ClaimedUntil);
        Assert.Equal(2, held.Attempts);
        Assert.Equal(T0, held.NextAttemptAt);
        Assert.Null(await store.TryClaimAsync(e.Id, T0.AddSeconds(45), T0.AddSeconds(45), T0.AddSeconds(75), None));
        Assert.Equal([1], (await store.ListAttemptsAsync(e.Id, None)).Select(a => a.Attempt));
    }

    [ConditionalFact]
    public async Task RedeliveryStartsANewRoundUnlessAnAttemptIsInFlight()
    {
        var (_, store) = await NewStoresAsync();
        var e = await store.CreateEventAsync(AnEvent(), None);
        for (var n = 1; n <= 2; n++)
        {
            var at = T0.AddMinutes(n);
            var claim = await store.TryClaimAsync(e.Id, at, at, at.AddSeconds(30), None);
            Assert.Equal(n, claim!.AttemptInRound);
            await store.RecordAttemptAsync(e.Id, Attempt(n, at), n == 2 ? DeliveryState.Failed : DeliveryState.Pending, n == 2 ? null : at.AddMinutes(1), None);
        }
        Assert.Equal(DeliveryState.Failed, (await store.GetEventAsync(e.Id, None))!.State);

        var t1 = T0.AddHours(1);
        Assert.True(await store.RedeliverAsync(e.Id, t1, None));
        var again = await store.GetEventAsync(e.Id, None);
        Assert.Equal(DeliveryState.Pending, again!.State);
        Assert.Equal(2, again.Attempts);
        Assert.Equal(2, again.RoundStart);
        Assert.Equal(t1, again.NextAttemptAt);
        Assert.Equal(e.Id, again.Id);

        var third = await store.TryClaimAsync(e.Id, t1, t1, t1.AddSeconds(30), None);
        Assert.Equal(3, third!.Attempt);
        Assert.Equal(1, third.AttemptInRound);

        // In flight: no new round until the attempt is recorded (or its claim lapses).
        Assert.False(await store.RedeliverAsync(e.Id, t1.AddSeconds(1), None));
        Assert.True(await store.RedeliverAsync(e.Id, t1.AddSeconds(30), None));
        var fourth = await store.TryClaimAsync(e.Id, t1.AddSeconds(30), t1.AddSeconds(30), t1.AddSeconds(60), None);
        Assert.Equal(4, fourth!.Attempt);
        Assert.Equal(1, fourth.AttemptInRound);
        await store.RecordAttemptAsync(e.Id, Attempt(4, t1.AddSeconds(30), 200), DeliveryState.Delivered, null, None);
        Assert.True(await store.RedeliverAsync(e.Id, t1.AddMinutes(1), None));
        Assert.Equal(4, (await store.GetEventAsync(e.Id, None))!.RoundStart);

        Assert.False(await store.RedeliverAsync("msg_missing", t1, None));
    }

    [ConditionalFact]
    public async Task PendingEventsAreListedAtTheLaterOfTheirNextTimeAndAnyClaim()
    {
        var (_, store) = await NewStoresAsync();
        var due = await store.CreateEventAsync(AnEvent(createdAt: T0), None);
        var later = await store.CreateEventAsync(AnEvent(createdAt: T0.AddMinutes(1)), None);
        var claimed = await store.CreateEventAsync(AnEvent(createdAt: T0), None);
        await store.TryClaimAsync(claimed.Id, T0, T0, T0.AddMinutes(5), None);
        var delivered = await store.CreateEventAsync(AnEvent(createdAt: T0), None);
        await store.TryClaimAsync(delivered.Id, T0, T0, T0.AddSeconds(30), None);
        await store.RecordAttemptAsync(delivered.Id, Attempt(1, T0, 204), DeliveryState.Delivered, null, None);
        var retrying = await store.CreateEventAsync(AnEvent(createdAt: T0), None);
        await store.TryClaimAsync(retrying.Id, T0, T0, T0.AddSeconds(30), None);
        await store.RecordAttemptAsync(retrying.Id, Attempt(1, T0, 500), DeliveryState.Pending, T0.AddMinutes(3), None);

        var all = await store.ListPendingAsync(null, None);
        Assert.Equal(
            [(due.Id, T0), (later.Id, T0.AddMinutes(1)), (retrying.Id, T0.AddMinutes(3)), (claimed.Id, T0.AddMinutes(5))],
            all.OrderBy(p => p.DueAt));
        Assert.All(all, p => Assert.Equal(TimeSpan.Zero, p.DueAt.Offset));

        // Overdue ones only: due strictly before the bound, a live claim counting as not due.
        Assert.Equal(new[] { due.Id, later.Id, retrying.Id }.Order(), (await store.ListPendingAsync(T0.AddMinutes(4), None)).Select(p => p.EventId).Order());
        Assert.Equal([due.Id], (await store.ListPendingAsync(T0.AddMinutes(1), None)).Select(p => p.EventId));
        Assert.Empty(await store.ListPendingAsync(T0, None));
    }

    [ConditionalFact]
    public async Task DeletingAnEventRemovesItsAttempts()
    {
        var (_, store) = await NewStoresAsync();
        var e = await store.CreateEventAsync(AnEvent(), None);
        var kept = await store.CreateEventAsync(AnEvent(), None);
        foreach (var id in new[] { e.Id, kept.Id })
        {
            await store.TryClaimAsync(id, T0, T0, T0.AddSeconds(30), None);
            await store.RecordAttemptAsync(id, Attempt(1, T0), DeliveryState.Pending, T0.AddMinutes(1), None);
        }

        await store.DeleteEventAsync(e.Id, None);

        Assert.Null(await store.GetEventAsync(e.Id, None));
        Assert.Null(await store.GetEventForFitAsync(e.FitId, None));
        Assert.Empty(await store.ListAttemptsAsync(e.Id, None));
        Assert.Equal([kept.Id], (await store.ListPendingAsync(null, None)).Select(p => p.EventId));
        Assert.Single(await store.ListAttemptsAsync(kept.Id, None));
        Assert.False(await store.RedeliverAsync(e.Id, T0, None));
        await store.DeleteEventAsync(e.Id, None);
        await store.DeleteEventAsync("msg_missing", None);
    }

    [ConditionalFact]
    public async Task DeletingAFitOrABatchAndRetentionLeaveNoRowOfThemInAnyTable()
    {
        var (fits, store) = await NewStoresAsync();
        async Task EndWithDeliveredEventAsync(string id, DateTimeOffset finished)
        {
            var start = await fits.TryStartAsync(id, T0, None);
            await fits.SaveProgressAsync(id, new FitProgressUpdate(start.Attempt, 2, [1, 2], 3, 0, [9, 8]), None);
            await fits.CompleteAsync(id, new FitCompletion(FitStatus.Succeeded, "steps", 10, [1, 2], 0.5, [9, 8, 7], null, finished), None);
            await DeliveredEventAsync(id);
        }
        async Task DeliveredEventAsync(string subject)
        {
            var e = await store.CreateEventAsync(AnEvent(subject), None);
            await store.TryClaimAsync(e.Id, T0, T0, T0.AddSeconds(30), None);
            await store.RecordAttemptAsync(e.Id, Attempt(1, T0, 200), DeliveryState.Delivered, null, None);
        }
        var kept = AFit(WithWebhook);
        var deleted = AFit(WithWebhook);
        var expired = AFit(WithWebhook);
        foreach (var fit in new[] { kept, deleted, expired }) await fits.CreateAsync(fit, None);
        await EndWithDeliveredEventAsync(kept.Id, T0.AddHours(2));
        await EndWithDeliveredEventAsync(deleted.Id, T0.AddHours(2));
        await EndWithDeliveredEventAsync(expired.Id, T0);
        var batchId = Guid.NewGuid().ToString("N");
        NewFit[] batchFits = [AFit(WithWebhook) with { BatchId = batchId }, AFit(WithWebhook) with { BatchId = batchId }];
        await fits.CreateBatchAsync(new NewBatch(batchId, "t1", T0, null, WithWebhook), batchFits, None);
        foreach (var fit in batchFits) await EndWithDeliveredEventAsync(fit.Id, T0.AddHours(2));
        await DeliveredEventAsync(batchId);

        Assert.True(await fits.DeleteAsync("t1", deleted.Id, None));
        Assert.True(await fits.DeleteBatchAsync("t1", batchId, None));
        Assert.Equal(1, await fits.DeleteEndedAsync(FitStatus.Succeeded, T0.AddHours(1), 10, None));

        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM fit_points p WHERE NOT EXISTS (SELECT 1 FROM fits f WHERE f.id = p.fit_id)"));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM fit_history h WHERE NOT EXISTS (SELECT 1 FROM fits f WHERE f.id = h.fit_id)"));
        Assert.Equal(0, await CountAsync(
            "SELECT COUNT(*) FROM fits f WHERE f.batch_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = f.batch_id)"));
        Assert.Equal(0, await CountAsync("""
            SELECT COUNT(*) FROM webhook_events e
            WHERE NOT EXISTS (SELECT 1 FROM fits f WHERE f.id = e.fit_id) AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = e.fit_id)
            """));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM webhook_attempts a WHERE NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.id = a.event_id)"));
        // What is left is the kept fit's, all of it.
        foreach (var table in new[] { "fits", "fit_points", "fit_history", "webhook_events", "webhook_attempts" })
        {
            Assert.Equal(1, await CountAsync($"SELECT COUNT(*) FROM {table}"));
        }
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM batches"));
        var keptFit = await fits.GetAsync("t1", kept.Id, historyLimit: int.MaxValue, None);
        Assert.Equal(new[] { 9.0, 8, 7 }, keptFit!.History!);
        Assert.Single(await store.ListAttemptsAsync("msg_" + kept.Id, None));
    }

    [ConditionalFact]
    public async Task AnAttemptRecordedAfterItsEventWasDeletedLeavesNothing()
    {
        var (_, store) = await NewStoresAsync();
        var e = await store.CreateEventAsync(AnEvent(), None);
        await store.TryClaimAsync(e.Id, T0, T0, T0.AddSeconds(30), None);

        // The fit (and so the event) was deleted while the attempt was in flight.
        await store.DeleteEventAsync(e.Id, None);
        await store.RecordAttemptAsync(e.Id, Attempt(1, T0, 200), DeliveryState.Delivered, null, None);

        Assert.Null(await store.GetEventAsync(e.Id, None));
        Assert.Empty(await store.ListAttemptsAsync(e.Id, None));
    }

    [ConditionalFact]
    public async Task EndedFitsWithAWebhookAndNoEventAreListed()
    {
        var (fits, store) = await NewStoresAsync();

        async Task<string> EndedAsync(string request, DateTimeOffset finished, FitStatus status = FitStatus.Succeeded)
        {
            var fit = AFit(request);
            await fits.CreateAsync(fit, None);
            await fits.TryStartAsync(fit.Id, T0, None);
            await fits.CompleteAsync(fit.Id, new FitCompletion(status, status == FitStatus.Failed ? "diverged" : "steps", 1, [1, 1, 1], 1, [1], null, finished), None);
            return fit.Id;
        }

        var old = await EndedAsync(WithWebhook, T0);
        var recent = await EndedAsync(WithWebhook, T0.AddHours(1), FitStatus.Failed);
        var cancelled = AFit(WithWebhook);
        await fits.CreateAsync(cancelled, None);
        await fits.RequestCancelAsync("t1", cancelled.Id, T0.AddHours(2), None);
        await EndedAsync("{\"degree\":2}", T0);
        await EndedAsync("{\"degree\":2,\"webhook\":null}", T0);
        await EndedAsync("{\"degree\":2,\"webhook\":{\"secret\":\"x\"}}", T0);
        var withEvent = await EndedAsync(WithWebhook, T0);
        await store.CreateEventAsync(AnEvent(withEvent), None);
        var running = AFit(WithWebhook);
        await fits.CreateAsync(running, None);
        await fits.TryStartAsync(running.Id, T0, None);
        await fits.CreateAsync(AFit(WithWebhook), None);

        Assert.Equal(new[] { old, recent, cancelled.Id }.Order(), (await store.ListEndedFitsWithoutEventAsync(null, None)).Order());
        Assert.Equal(new[] { recent, cancelled.Id }.Order(), (await store.ListEndedFitsWithoutEventAsync(T0.AddMinutes(30), None)).Order());
        Assert.Equal(new[] { recent, cancelled.Id }.Order(), (await store.ListEndedFitsWithoutEventAsync(T0.AddHours(1), None)).Order());
        Assert.Empty(await store.ListEndedFitsWithoutEventAsync(T0.AddHours(3), None));

        await store.CreateEventAsync(AnEvent(old), None);
        Assert.DoesNotContain(old, await store.ListEndedFitsWithoutEventAsync(null, None));
    }

    [ConditionalFact]
    public async Task CompletedBatchesWithAWebhookAndNoEventAreListed()
    {
        var (fits, store) = await NewStoresAsync();

        async Task<(string Id, string[] Fits)> BatchAsync(string request, int count)
        {
            var id = Guid.NewGuid().ToString("N");
            var members = Enumerable.Range(0, count).Select(_ => AFit("{\"degree\":2}") with { BatchId = id }).ToList();
            await fits.CreateBatchAsync(new NewBatch(id, "t1", T0, null, request), members, None);
            return (id, members.Select(m => m.Id).ToArray());
        }
        async Task EndAsync(string fitId, DateTimeOffset finished)
        {
            await fits.TryStartAsync(fitId, T0, None);
            await fits.CompleteAsync(fitId, new FitCompletion(FitStatus.Succeeded, "steps", 1, [1, 1, 1], 1, [1], null, finished), None);
        }

        const string BatchWithWebhook = "{\"fits\":[],\"webhook\":{\"url\":\"https://hooks.example/batches\"}}";
        var old = await BatchAsync(BatchWithWebhook, 2);
        foreach (var fit in old.Fits) await EndAsync(fit, T0);
        var recent = await BatchAsync(BatchWithWebhook, 2);
        await EndAsync(recent.Fits[0], T0);
        await fits.RequestCancelAsync("t1", recent.Fits[1], T0.AddHours(1), None);
        var unfinished = await BatchAsync(BatchWithWebhook, 2);
        await EndAsync(unfinished.Fits[0], T0);
        var withoutWebhook = await BatchAsync("{\"fits\":[]}", 1);
        await EndAsync(withoutWebhook.Fits[0], T0);
        var withEvent = await BatchAsync(BatchWithWebhook, 1);
        await EndAsync(withEvent.Fits[0], T0);
        await store.CreateEventAsync(AnEvent(withEvent.Id), None);

        Assert.Equal(new[] { (old.Id, "t1"), (recent.Id, "t1") }.Order(), (await store.ListCompletedBatchesWithoutEventAsync(null, None)).Order());
        Assert.Equal((recent.Id, "t1"), Assert.Single(await store.ListCompletedBatchesWithoutEventAsync(T0.AddMinutes(30), None)));
        Assert.Empty(await store.ListCompletedBatchesWithoutEventAsync(T0.AddHours(2), None));

        await EndAsync(unfinished.Fits[1], T0.AddHours(3));
        Assert.Equal((unfinished.Id, "t1"), Assert.Single(await store.ListCompletedBatchesWithoutEventAsync(T0.AddHours(2), None)));
    }

    [ConditionalFact]
    public async Task TimesRoundTripToTheMillisecondInUtc()
    {
        var (_, store) = await NewStoresAsync();
        // 10:15:02.123 at +01:00 and some ticks: stored and read back as 09:15:02.123 UTC.
        var local = new DateTimeOffset(2026, 11, 28, 10, 15, 2, 123, TimeSpan.FromHours(1)).AddTicks(4567);
        var e = await store.CreateEventAsync(AnEvent(createdAt: local), None);
        Assert.Equal(T0, e.CreatedAt);
        Assert.Equal(TimeSpan.Zero, e.CreatedAt.Offset);
        Assert.Equal(T0, e.NextAttemptAt);

        var claim = await store.TryClaimAsync(e.Id, local, local, local.AddSeconds(30), None);
        Assert.Equal(T0.AddSeconds(30), claim!.Event.ClaimedUntil);
        await store.RecordAttemptAsync(e.Id, new DeliveryAttempt(1, local.AddMilliseconds(1), TimeSpan.FromMilliseconds(250), 500, null),
            DeliveryState.Pending, local.AddMinutes(1), None);

        var got = await store.GetEventAsync(e.Id, None);
        Assert.Equal(T0, got!.CreatedAt);
        Assert.Equal(T0.AddMinutes(1), got.NextAttemptAt);
        Assert.Equal(TimeSpan.Zero, got.NextAttemptAt!.Value.Offset);
        var attempt = Assert.Single(await store.ListAttemptsAsync(e.Id, None));
        Assert.Equal(T0.AddMilliseconds(1), attempt.StartedAt);
        Assert.Equal(TimeSpan.Zero, attempt.StartedAt.Offset);
        Assert.Equal(TimeSpan.FromMilliseconds(250), attempt.Duration);
        Assert.Equal((e.Id, T0.AddMinutes(1)), Assert.Single(await store.ListPendingAsync(null, None)));
    }

    [ConditionalFact]
    public async Task InitializeIsIdempotent()
    {
        var (_, store) = await NewStoresAsync();
        var e = await store.CreateEventAsync(AnEvent(), None);
        await store.InitializeAsync(None);
        Assert.Equal(e, await store.GetEventAsync(e.Id, None));
    }
}
