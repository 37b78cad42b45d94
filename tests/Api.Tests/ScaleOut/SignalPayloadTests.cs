using FitService.Api.Notifications;
using FitService.Api.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace FitService.Api.Tests.ScaleOut;

/// <summary>What crosses processes in a NOTIFY stays under PostgreSQL's 8000 bytes, so no signal takes its batch down with it.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SignalPayloadTests(PostgresCluster cluster)
{
    [PostgresFact]
    public async Task ProgressWithTooManyParamsForANotifyArrivesWithoutThemAndTheSignalsBesideItArriveWhole()
    {
        var database = await cluster.CreateDatabaseAsync("signals");
        using var api = new PostgresFitSignals(database, NullLogger<PostgresFitSignals>.Instance);
        using var worker = new PostgresFitSignals(database, NullLogger<PostgresFitSignals>.Instance);
        await api.StartAsync(CancellationToken.None);
        await worker.StartAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // Subscribed before anything is published (the first MoveNextAsync subscribes).
        await using var network = api.WatchAsync("network", timeout.Token).GetAsyncEnumerator(timeout.Token);
        await using var lesson = api.WatchAsync("lesson", timeout.Token).GetAsyncEnumerator(timeout.Token);
        var networkNext = network.MoveNextAsync().AsTask();
        var lessonNext = lesson.MoveNextAsync().AsTask();

        // 2,000 params are ~40 KB of JSON; published together, the two most likely share one statement.
        worker.Publish(new FitSignal("network", false, 7, 0.5, Enumerable.Range(0, 2000).Select(i => i / 3.0).ToArray()));
        worker.Publish(new FitSignal("lesson", false, 3, 0.25, [1, 2, 3]));

        Assert.True(await networkNext);
        Assert.True(await lessonNext);
        Assert.Equal((7, 0.5, (double[]?)null), (network.Current.Step, network.Current.Loss, network.Current.Params));
        Assert.Equal([1.0, 2, 3], lesson.Current.Params!);
        await api.StopAsync(CancellationToken.None);
        await worker.StopAsync(CancellationToken.None);
    }
}
