using System.Diagnostics;

namespace FitService.Cli.Client;

/// <summary>Waits for fits and batches to end: the event stream when the service has one, else polling with <c>Prefer: wait</c>.</summary>
internal static class FitWatcher
{
    /// <summary>Never poll faster than this, even if the service answers <c>Prefer: wait</c> at once.</summary>
    private static readonly TimeSpan MinPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>Follows <paramref name="fit"/> until it ends; <paramref name="onProgress"/> (if any) hears each update.</summary>
    public static async Task<Fit> FollowAsync(FitServiceClient client, Fit fit, Action<FitProgress>? onProgress, CancellationToken cancellationToken)
    {
        if (fit.HasEnded)
            return fit;
        try
        {
            await foreach (var update in client.WatchFitAsync(fit.Id, cancellationToken))
            {
                if (update.Ended is { } ended)
                    return ended;
                onProgress?.Invoke(update.Progress!);
            }
            // the stream closed without an end event (a proxy time-out, a restart): polling finds out
        }
        catch (EventsUnavailableException)
        {
        }
        catch (IOException) when (!cancellationToken.IsCancellationRequested)
        {
            // the connection broke mid-stream; polling carries on
        }
        return await PollAsync(client, fit.Id, onProgress, cancellationToken);
    }

    /// <summary>Polls <c>GET /v1/fits/{id}</c>: one second at a time when someone watches progress, else up to 30 s per request.</summary>
    public static Task<Fit> PollAsync(FitServiceClient client, string id, Action<FitProgress>? onProgress, CancellationToken cancellationToken) =>
        PollUntilAsync(
            wait => client.GetFitAsync(id, wait, cancellationToken),
            f => f.HasEnded,
            f => onProgress?.Invoke(new FitProgress(f.Step, f.Loss, f.Params)),
            onProgress is null ? 30 : 1,
            cancellationToken);

    public static Task<Batch> FollowBatchAsync(FitServiceClient client, Batch batch, Action<Batch>? onProgress, CancellationToken cancellationToken) =>
        batch.HasEnded
            ? Task.FromResult(batch)
            : PollUntilAsync(wait => client.GetBatchAsync(batch.Id, wait, cancellationToken), b => b.HasEnded, onProgress, onProgress is null ? 30 : 1, cancellationToken);

    private static async Task<T> PollUntilAsync<T>(Func<int, Task<T>> get, Func<T, bool> ended, Action<T>? onProgress, int waitSeconds, CancellationToken cancellationToken)
    {
        while (true)
        {
            var clock = Stopwatch.StartNew();
            var current = await get(waitSeconds);
            if (ended(current))
                return current;
            onProgress?.Invoke(current);
            if (clock.Elapsed < MinPollInterval)
                await Task.Delay(MinPollInterval - clock.Elapsed, cancellationToken);
        }
    }
}
