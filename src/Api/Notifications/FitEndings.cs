using FitService.Api.Metrics;
using FitService.Api.Storage;

namespace FitService.Api.Notifications;

/// <summary>Something that must happen once a fit has ended for good (succeeded, failed or cancelled; not deleted).</summary>
public interface IFitEndedHandler
{
    /// <param name="fit">
    /// The fit's record: its id, tenant, request and batch are what a handler decides from. A worker (or an inline run)
    /// passes the fit as it reads once its end is stored, whole history included (<c>FitLifecycle.Ended</c>); anyone else
    /// the stored record without history (<see cref="IFitReader.GetForWorkerAsync"/>), whose results a handler reads itself.
    /// </param>
    /// <param name="ct">Cancels the handler's own work.</param>
    Task OnFitEndedAsync(FitRecord fit, CancellationToken ct);
}

/// <summary>
/// A handler that can take the ends of several fits stored in one write at once (a chunk, a drain's group), doing once
/// what would otherwise be done per fit (e.g. asking whether their batch has fits left). <see cref="FitEndings.EndedManyAsync"/>
/// calls <see cref="OnFitsEndedAsync"/> instead of <see cref="IFitEndedHandler.OnFitEndedAsync"/> for each fit.
/// </summary>
public interface IFitGroupEndedHandler : IFitEndedHandler
{
    /// <param name="fits">The fits' records, as for <see cref="IFitEndedHandler.OnFitEndedAsync"/>; every one's end is stored.</param>
    /// <param name="ct">Cancels the handler's own work.</param>
    Task OnFitsEndedAsync(IReadOnlyList<FitRecord> fits, CancellationToken ct);
}

/// <summary>
/// The one place a fit's end is announced: it is counted, waiters and streams hear of it, then every <see cref="IFitEndedHandler"/>
/// runs (webhooks, batch completion). Called right after the store recorded the end; a failing handler is logged, never
/// undoes the end (the webhook recovery pass makes up for it).
/// </summary>
public sealed class FitEndings(IFitSignals signals, IFitReader store, FitMetrics metrics, IEnumerable<IFitEndedHandler> handlers, ILogger<FitEndings> logger)
{
    private readonly IFitEndedHandler[] _handlers = handlers.ToArray();
    // A group of ends goes to these once, and fit by fit to the others.
    private readonly IFitGroupEndedHandler[] _groupHandlers = [.. handlers.OfType<IFitGroupEndedHandler>()];
    private readonly IFitEndedHandler[] _fitHandlers = [.. handlers.Where(h => h is not IFitGroupEndedHandler)];

    /// <summary>How many ends of one group run their handlers at once (each is a few statements: a webhook event and its job).</summary>
    public const int HandlersInParallel = 4;

    /// <summary>
    /// The ends of several fits stored together (a drain's group): every waiter hears at once, then the handlers run a few
    /// fits at a time, so the last fit's webhook does not wait for every other fit's event and job to be written first.
    /// </summary>
    /// <param name="ends">The ends, as waiters hear them, how each ended (for the metric), and the fit as it reads ended.</param>
    /// <param name="announced">The store told the other processes already (<see cref="IFitWork.AnnouncesEnds"/>): tell this one only.</param>
    public async Task EndedManyAsync(IReadOnlyList<(FitSignal Signal, FitStatus Status, FitRecord Fit)> ends, bool announced = false)
    {
        foreach (var (signal, status, _) in ends)
        {
            metrics.Ended(status);
            Publish(signal with { Ended = true }, announced);
        }
        if (_handlers.Length == 0) return;
        var fits = ends.Select(e => e.Fit).ToArray();
        foreach (var group in _groupHandlers)
        {
            try
            {
                await group.OnFitsEndedAsync(fits, CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogError(e, "{Handler} failed for the ends of {Count} fits", group.GetType().Name, fits.Length);
            }
        }
        if (_fitHandlers.Length == 0) return;
        await Parallel.ForEachAsync(ends, new ParallelOptions { MaxDegreeOfParallelism = HandlersInParallel },
            async (end, _) => await HandleAsync(end.Signal, end.Fit, _fitHandlers));
    }

    /// <param name="signal">The end as waiters hear it.</param>
    /// <param name="status">How it ended, for the metric.</param>
    /// <param name="fit">The fit as it reads ended, if the caller holds it (a worker does), which saves the handlers a read.</param>
    /// <param name="announced">The store told the other processes already (<see cref="IFitWork.AnnouncesEnds"/>): tell this one only.</param>
    public async Task EndedAsync(FitSignal signal, FitStatus status, FitRecord? fit = null, bool announced = false)
    {
        metrics.Ended(status);
        Publish(signal with { Ended = true }, announced);
        if (_handlers.Length == 0) return;
        await HandleAsync(signal, fit, _handlers);
    }

    /// <summary>
    /// The end of a fit that was stored already ended (it ran on its request, see <c>InlineFits</c>): counted, and handed
    /// to the handlers (webhooks). No signal: nobody can wait for or watch a fit whose id nobody has seen yet, and on a
    /// shared store a signal is a NOTIFY to every process.
    /// </summary>
    /// <param name="fit">The fit as stored.</param>
    public async Task StoredEndedAsync(FitRecord fit)
    {
        metrics.Ended(fit.Status);
        if (_handlers.Length == 0) return;
        await HandleAsync(new FitSignal(fit.Id, true, fit.Step, fit.Loss, fit.Params), fit, _handlers);
    }

    private void Publish(FitSignal signal, bool announced)
    {
        if (announced) signals.PublishHere(signal);
        else signals.Publish(signal);
    }

    private async Task HandleAsync(FitSignal signal, FitRecord? fit, IFitEndedHandler[] handlers)
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
        foreach (var handler in handlers)
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
