using FitService.Api.Storage;

namespace FitService.Api.Jobs;

/// <summary>
/// At start, hands every queued or running fit to the workers again: the embedded queue lives in memory, so after
/// a crash the store is the only record of accepted work. Duplicates are harmless (the job is reentrant).
/// </summary>
public sealed class FitRecovery(IFitWork store, IFitQueue queue, StorageFaults faults, ILogger<FitRecovery> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (faults.Corruption is not null) return; // nothing can be read back from a corrupt file; readiness says so
        await StartupRetry.RunAsync(store.DropUnacceptedBatchesAsync, "Dropping batches never accepted", logger, cancellationToken);
        var ids = await StartupRetry.RunAsync(store.ListUnfinishedAsync, "Listing unfinished fits", logger, cancellationToken);
        foreach (var id in ids) queue.Enqueue(id);
        if (ids.Count > 0) logger.LogInformation("Recovered {Count} unfinished fits from the store", ids.Count);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
