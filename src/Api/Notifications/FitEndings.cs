namespace FitService.Api.Notifications;

/// <summary>Something that must happen once a fit has ended for good (succeeded, failed or cancelled; not deleted).</summary>
public interface IFitEndedHandler
{
    Task OnFitEndedAsync(string fitId, CancellationToken ct);
}

/// <summary>
/// The one place a fit's end is announced: waiters and streams hear of it, then every <see cref="IFitEndedHandler"/>
/// runs (webhooks). Called right after the store recorded the end; a failing handler is logged, never undoes the end
/// (the webhook recovery pass makes up for it).
/// </summary>
public sealed class FitEndings(IFitSignals signals, IEnumerable<IFitEndedHandler> handlers, ILogger<FitEndings> logger)
{
    public async Task EndedAsync(FitSignal signal)
    {
        signals.Publish(signal with { Ended = true });
        foreach (var handler in handlers)
        {
            try
            {
                await handler.OnFitEndedAsync(signal.FitId, CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogError(e, "{Handler} failed for the end of fit {FitId}", handler.GetType().Name, signal.FitId);
            }
        }
    }
}
