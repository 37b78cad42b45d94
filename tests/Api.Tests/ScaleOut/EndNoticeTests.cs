using System.Collections.Concurrent;
using System.Text.Json;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// The end of a fit reaches the other processes with the commit that stores it: the completion statements send the NOTIFY
/// themselves (<see cref="PostgresFitStore.EndNotice"/>), once per end they store, and the process that ended the fit does
/// not send it a second time.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class EndNoticeTests(PostgresCluster cluster)
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 22, 0, 0, TimeSpan.Zero);

    [PostgresFact]
    public async Task AWaiterInAnotherProcessWakesWithTheCommitThatStoresTheEnd()
    {
        var database = await cluster.CreateDatabaseAsync("endnotice");
        // The API process's signals, listening.
        using var api = new PostgresFitSignals(database, NullLogger<PostgresFitSignals>.Instance);
        await api.StartAsync(None);
        // The worker process's signals are never started: nothing they would send leaves the process, so only the store's
        // completion statements can tell the API process.
        using var worker = new PostgresFitSignals(database, NullLogger<PostgresFitSignals>.Instance);
        await using var store = new PostgresFitStore(database) { EndNotice = worker.EndNotice };
        await store.InitializeAsync(None);
        var drained = await CreateAsync(store);
        var alone = await CreateAsync(store);
        var drainedEnd = api.WhenEnded(drained);
        var aloneEnd = api.WhenEnded(alone);

        Assert.Equal([drained], await store.CompleteManyAsync([(drained, Completion())], None));
        Assert.True(await store.CompleteAsync(alone, Completion(), None));

        // Generous for a loaded machine; without the NOTIFY in the completion neither would ever complete.
        await drainedEnd.WaitAsync(TimeSpan.FromSeconds(60));
        await aloneEnd.WaitAsync(TimeSpan.FromSeconds(60));
        await api.StopAsync(None);
    }

    [PostgresFact]
    public async Task AnEndIsAnnouncedOnceWhenStoredAndNotAgainWhenStoredAgain()
    {
        var database = await cluster.CreateDatabaseAsync("endnotice");
        using var worker = new PostgresFitSignals(database, NullLogger<PostgresFitSignals>.Instance);
        await using var store = new PostgresFitStore(database) { EndNotice = worker.EndNotice };
        await store.InitializeAsync(None);
        var fit = await CreateAsync(store);
        var other = await CreateAsync(store);
        await using var notices = await Notices.ListenAsync(database);

        Assert.Equal([fit], await store.CompleteManyAsync([(fit, Completion())], None));
        // Ended already: nothing changes, so nothing is announced (by either statement).
        Assert.Equal([other], await store.CompleteManyAsync([(fit, Completion()), (other, Completion())], None));
        Assert.False(await store.CompleteAsync(fit, Completion(), None));
        Assert.False(await store.CompleteAsync(other, Completion(), None));

        var heard = await notices.UntilSentinelAsync(database);
        Assert.Single(heard, n => n.FitId == fit);
        Assert.Single(heard, n => n.FitId == other);
        Assert.All(heard, n => Assert.True(n.Ended));
    }

    [PostgresFact]
    public async Task AProcessThatEndsAFitSendsItsEndOnceForTheDrainAndForAFitOfItsOwnJob()
    {
        var database = await cluster.CreateDatabaseAsync("endnotice");
        await using var service = new FitServiceFactory(("Storage:Provider", "postgres"), ("Storage:ConnectionString", database), ("Workers:Count", "2"));
        var client = service.CreateClient();
        await using var notices = await Notices.ListenAsync(database);

        // A small fit (a drain job ends it) and a big one (a job of its own), both run in this process.
        var small = await (await client.PostFit(Fit(500))).ReadFit();
        var big = await (await client.PostFit(Fit(300_000))).ReadFit();
        Assert.Equal("succeeded", (await client.WaitForEnd(small.Id, 120)).Status);
        Assert.Equal("succeeded", (await client.WaitForEnd(big.Id, 120)).Status);

        // A signal this process publishes after both ends: once it is heard, whatever the process's own sender would have
        // sent for the ends (before it, in the same queue) has been heard too.
        var sentinel = Guid.NewGuid().ToString("N");
        service.Services.GetRequiredService<IFitSignals>().Publish(new FitSignal(sentinel, false, 1, null, null));
        var heard = await notices.UntilAsync(sentinel);

        Assert.Single(heard, n => n.FitId == small.Id && n.Ended);
        Assert.Single(heard, n => n.FitId == big.Id && n.Ended);
    }

    private static object Fit(int steps) => new { x = new[] { 0.0, 1, 2, 3 }, y = new[] { 1.0, 3, 5, 7 }, degree = 1, loss = "mse", learningRate = 0.0002, steps };

    private static FitCompletion Completion() => new(FitStatus.Succeeded, "steps", 10, [1, 2], 0.5, [3, 2, 1], null, T0);

    private static async Task<string> CreateAsync(PostgresFitStore store)
    {
        var fit = new NewFit(Guid.NewGuid().ToString("N"), "t1", T0, "{\"degree\":1}", [0, 1, 2], [1, 2, 3],
            Steps: 10, HistoryEvery: 1, Label: null, IdempotencyKey: null, RequestHash: "h1");
        return (await store.CreateAsync(fit, None)).Fit!.Id;
    }

    /// <summary>What a process listening on the signal channel hears, in order.</summary>
    private sealed class Notices : IAsyncDisposable
    {
        private readonly NpgsqlConnection _connection;
        private readonly ConcurrentQueue<Notice> _heard = new();

        private Notices(NpgsqlConnection connection)
        {
            _connection = connection;
            _connection.Notification += (_, e) =>
            {
                using var json = JsonDocument.Parse(e.Payload);
                _heard.Enqueue(new Notice(json.RootElement.GetProperty("f").GetString()!, json.RootElement.GetProperty("e").GetBoolean()));
            };
        }

        public static async Task<Notices> ListenAsync(string database)
        {
            var connection = new NpgsqlConnection(database);
            await connection.OpenAsync();
            await using (var listen = new NpgsqlCommand($"LISTEN {PostgresFitSignals.Channel}", connection)) await listen.ExecuteNonQueryAsync();
            return new Notices(connection);
        }

        /// <summary>
        /// Sends a notice of its own and returns what was heard before it: notifications reach a listener in the order their
        /// transactions committed, so everything committed before is in.
        /// </summary>
        public async Task<List<Notice>> UntilSentinelAsync(string database)
        {
            var sentinel = Guid.NewGuid().ToString("N");
            await using (var conn = new NpgsqlConnection(database))
            {
                await conn.OpenAsync();
                await using var notify = new NpgsqlCommand("SELECT pg_notify(@channel, @payload)", conn);
                notify.Parameters.AddWithValue("channel", PostgresFitSignals.Channel);
                notify.Parameters.AddWithValue("payload", JsonSerializer.Serialize(new { o = "test", f = sentinel, e = false, s = 0 }));
                await notify.ExecuteNonQueryAsync();
            }
            return await UntilAsync(sentinel);
        }

        /// <summary>What was heard before the notice of <paramref name="fitId"/>, waiting for it up to a minute.</summary>
        public async Task<List<Notice>> UntilAsync(string fitId)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (!_heard.Any(n => n.FitId == fitId)) await _connection.WaitAsync(timeout.Token);
            return [.. _heard.TakeWhile(n => n.FitId != fitId)];
        }

        public ValueTask DisposeAsync() => _connection.DisposeAsync();
    }

    private sealed record Notice(string FitId, bool Ended);
}
