using FitService.Api.Jobs;
using FitService.Api.Notifications;
using FitService.Api.Storage;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>
/// Which processes hear the fit signals of the others: those serving the API (their requests wait for ends and watch
/// progress); a worker process hears only the announcements of small fits and jobs. Notifications come over one
/// connection in the order they were committed, so once an announcement sent after an end has been heard, the end would
/// have been heard before it.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class WorkerSignalsTests(PostgresCluster cluster)
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 6, 0, 0, TimeSpan.Zero);

    [PostgresFact]
    public async Task AWorkerProcessHearsAnAnnouncementButNotTheEndSentBeforeIt()
    {
        var (ended, announcedAfter) = await EndThenAnnounceAsync(hearsFitSignals: false);

        Assert.True(announcedAfter);
        Assert.False(ended);
    }

    [PostgresFact]
    public async Task AProcessServingTheApiHearsTheEndBeforeTheAnnouncementSentAfterIt()
    {
        var (ended, announcedAfter) = await EndThenAnnounceAsync(hearsFitSignals: true);

        Assert.True(announcedAfter);
        Assert.True(ended);
    }

    [Fact]
    public void OnlyProcessesServingTheApiHearFitSignals()
    {
        Assert.True(ConnectionBudget.For(2, 2, api: true).ServesApi);
        Assert.True(ConnectionBudget.For(0, 0, api: true).ServesApi);
        Assert.False(ConnectionBudget.For(2, 2, api: false).ServesApi);
    }

    /// <summary>
    /// Another process stores a fit's end (its NOTIFY goes with the commit), then announces small fits. Returns whether the
    /// listening process had heard the end when the announcement reached it, and whether the announcement did.
    /// </summary>
    private async Task<(bool Ended, bool AnnouncedAfter)> EndThenAnnounceAsync(bool hearsFitSignals)
    {
        var database = await cluster.CreateDatabaseAsync("workersignals");
        var heard = new SemaphoreSlim(0);
        var listening = false;
        using var listener = new PostgresFitSignals(database, NullLogger<PostgresFitSignals>.Instance,
            queue =>
            {
                // The listener also calls this itself each time it (re)connects; only what comes after the start counts.
                if (Volatile.Read(ref listening) && queue == DirectDrains.Announcement) heard.Release();
            },
            hearsFitSignals);
        await listener.StartAsync(None);
        Volatile.Write(ref listening, true);
        using var other = new PostgresFitSignals(database, NullLogger<PostgresFitSignals>.Instance);
        await using var store = new PostgresFitStore(database) { EndNotice = other.EndNotice };
        await store.InitializeAsync(None);
        var fit = (await store.CreateAsync(new NewFit(Guid.NewGuid().ToString("N"), "t1", T0, "{}", [0, 1], [1, 2], Steps: 10,
            HistoryEvery: 1, Label: null, IdempotencyKey: null, RequestHash: "h"), None)).Fit!.Id;
        var end = listener.WhenEnded(fit);

        Assert.Equal([fit], await store.CompleteManyAsync([(fit, new FitCompletion(FitStatus.Succeeded, "steps", 10, [1, 2], 0.5, [3, 2, 1], null, T0))], None));
        await other.AnnounceDrainAsync(None);

        // Generous for a loaded machine: the announcement comes within milliseconds when nothing is wrong.
        var announcedAfter = await heard.WaitAsync(TimeSpan.FromSeconds(60));
        var ended = end.IsCompleted;
        await listener.StopAsync(None);
        return (ended, announcedAfter);
    }
}
