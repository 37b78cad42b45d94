using System.Diagnostics;
using System.Net;

namespace FitService.Cli.Commands;

/// <summary>Waits for fits and batches to end while showing progress: the event stream when the service has one, else polling with <c>Prefer: wait</c>.</summary>
internal static class FitWatcher
{
    /// <summary>Never poll faster than this, even if the service answers <c>Prefer: wait</c> at once.</summary>
    private static readonly TimeSpan MinPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>Follows <paramref name="fit"/> until it ends; <paramref name="onProgress"/> (if any) hears each update.</summary>
    public static async Task<FitResource> FollowAsync(FitServiceClient client, FitResource fit, Action<FitProgressEvent>? onProgress, CancellationToken cancellationToken)
    {
        if (FitStatuses.IsEnded(fit.Status))
            return fit;
        if (onProgress is null)
            return await client.WaitAsync(fit.Id, cancellationToken);
        try
        {
            await foreach (var update in client.WatchAsync(fit.Id, cancellationToken: cancellationToken))
            {
                switch (update)
                {
                    case FitEnded ended:
                        return ended.Fit;
                    case FitProgressed progressed:
                        onProgress(progressed.Progress);
                        break;
                }
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && NoEventStream(e))
        {
            // an older service, or a proxy that strips the stream: polling carries on
        }
        return await PollAsync(client, fit.Id, onProgress, cancellationToken);
    }

    private static bool NoEventStream(Exception e) => e switch
    {
        FitServiceProblemException p => p.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotAcceptable or HttpStatusCode.NotImplemented,
        NotSupportedException or IOException => true,
        _ => false,
    };

    /// <summary>Polls <c>GET /v1/fits/{id}</c> one second at a time, reporting progress.</summary>
    public static Task<FitResource> PollAsync(FitServiceClient client, string id, Action<FitProgressEvent> onProgress, CancellationToken cancellationToken) =>
        PollUntilAsync(
            wait => client.GetFitAsync(id, wait, cancellationToken),
            f => FitStatuses.IsEnded(f.Status),
            f => onProgress(new FitProgressEvent(f.Step, f.Loss, f.Params)),
            cancellationToken);

    public static Task<BatchResource> FollowBatchAsync(FitServiceClient client, BatchResource batch, Action<BatchResource>? onProgress, CancellationToken cancellationToken) =>
        HasEnded(batch) ? Task.FromResult(batch)
        : onProgress is null ? client.WaitBatchAsync(batch.Id, cancellationToken)
        : PollUntilAsync(wait => client.GetBatchAsync(batch.Id, wait, cancellationToken), HasEnded, onProgress, cancellationToken);

    /// <summary>Every fit has ended; decided from the counts so it does not depend on the batch status names.</summary>
    public static bool HasEnded(BatchResource batch) => Ended(batch.Counts) >= batch.Total;

    public static int Ended(BatchCounts counts) => counts.Succeeded + counts.Failed + counts.Cancelled;

    private static async Task<T> PollUntilAsync<T>(Func<TimeSpan, Task<T>> get, Func<T, bool> ended, Action<T> onProgress, CancellationToken cancellationToken)
    {
        while (true)
        {
            var clock = Stopwatch.StartNew();
            var current = await get(MinPollInterval);
            if (ended(current))
                return current;
            onProgress(current);
            if (clock.Elapsed < MinPollInterval)
                await Task.Delay(MinPollInterval - clock.Elapsed, cancellationToken);
        }
    }
}
