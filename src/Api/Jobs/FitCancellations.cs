using System.Collections.Concurrent;

namespace FitService.Api.Jobs;

/// <summary>The running fits of this process, so a cancel request reaches the engine at once rather than at the next progress save.</summary>
public sealed class FitCancellations
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new();

    public void Register(string fitId, CancellationTokenSource source) => _running[fitId] = source;

    public void Unregister(string fitId, CancellationTokenSource source) =>
        _running.TryRemove(new KeyValuePair<string, CancellationTokenSource>(fitId, source));

    /// <summary>Cancels the fit if it runs in this process.</summary>
    public void Cancel(string fitId)
    {
        if (_running.TryGetValue(fitId, out var source))
        {
            try { source.Cancel(); } catch (ObjectDisposedException) { }
        }
    }
}
