using FitService.Api.Metrics;
using FitService.Api.Storage;

namespace FitService.Api.Notifications;

/// <summary>Something that must happen once a fit has ended for good (succeeded, failed or cancelled; not deleted).</summary>
public interface IFitEndedHandler
{
    /// <param name="fit">
    /// The fit's stored record without history: its id, tenant, request and batch are what a handler decides from.
    /// Its status and results may be as they were read before the end (a worker passes the record it started from).
    /// </param>
    /// <param name="ct">Cancels the handler's own work.</param>
    Task OnFitEndedAsync(FitRecord fit, CancellationToken ct);
}

/// <summary>
/// The one place a fit's end is announced: it is counted, waiters and streams hear of it, then every <see cref="IFitEndedHandler"/>
/// runs (webhooks, batch completion). Called right after the store recorded the end; a failing handler is logged, never
/// undoes the end (the webhook recovery pass makes up for it).
/// </summary>
public sealed class FitEndings(IFitSignals signals, IFitReader store, FitMetrics metrics, IEnumerable<IFitEndedHandler> handlers, ILogger<FitEndings> logger)
{
    private readonly IFitEndedHandler[] _handlers = handlers.ToArray();

    /// <summary>How many ends of one group run their handlers at once (each is a few statements: a webhook event and its job).</summary>
    public const int HandlersInParallel = 4;

    /// <summary>
    /// The ends of several fits stored together (a drain's group): every waiter hears at once, then the handlers run a few
    /// fits at a time, so the last fit's webhook does not wait for every other fit's event and job to be written first.
    /// </summary>
    /// <param name="ends">The ends, as waiters hear them, how each ended (for the metric), and the record the worker started from.</param>
    /// <param name="announced">The store told the other processes already (<see cref="IFitWork.AnnouncesEnds"/>): tell this one only.</param>
    public async Task EndedManyAsync(IReadOnlyList<(FitSignal Signal, FitStatus Status, FitRecord Fit)> ends, bool announced = false)
    {
        foreach (var (signal, status, _) in ends)
        {
            metrics.Ended(status);
            Publish(signal with { Ended = true }, announced);
        }
        if (_handlers.Length == 0) return;
        await Parallel.ForEachAsync(ends, new ParallelOptions { MaxDegreeOfParallelism = HandlersInParallel },
            async (end, _) => await HandleAsync(end.Signal, end.Fit));
    }

    /// <param name="signal">The end as waiters hear it.</param>
    /// <param name="status">How it ended, for the metric.</param>
    /// <param name="fit">The fit's record if the caller holds one (a worker does), which saves the handlers a read.</param>
    /// <param name="announced">The store told the other processes already (<see cref="IFitWork.AnnouncesEnds"/>): tell this one only.</param>
    public async Task EndedAsync(FitSignal signal, FitStatus status, FitRecord? fit = null, bool announced = false)
    {
        metrics.Ended(status);
        Publish(signal with { Ended = true }, announced);
        if (_handlers.Length == 0) return;
        await HandleAsync(signal, fit);
    }

    private void Publish(FitSignal signal, bool announced)
    {
        if (announced) signals.PublishHere(signal);
        else signals.Publish(signal);
    }

    private async Task HandleAsync(FitSignal signal, FitRecord? fit)
    {
        try
        {
            fit ??= await store.GetForWorkerAsync(signal.FitId, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogError(e, "The end of fit {FitId} could not be handed on: its record could not be read", signal.FitId);
            return;
        }
        if (fit is null) return;
        foreach (var handler in _handlers)
        {
            try
            {
                await handler.OnFitEndedAsync(fit, CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogError(e, "{Handler} failed for the end of fit {FitId}", handler.GetType().Name, signal.FitId);
            }
        }
    }
}
