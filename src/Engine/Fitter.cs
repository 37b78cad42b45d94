namespace FitService.Engine;

/// <summary>Runs gradient-descent fits. Thread-safe: each call owns its state.</summary>
public static class Fitter
{
    /// <summary>
    /// Runs <paramref name="problem"/> to its end. Deterministic: the same problem gives bit-identical results.
    /// </summary>
    /// <param name="problem">The problem; validated (throws <see cref="ArgumentException"/> when invalid).</param>
    /// <param name="progress">Called at most once per <paramref name="progressInterval"/> with a snapshot, never from another thread.</param>
    /// <param name="progressInterval">Minimum time between progress calls (default 250 ms).</param>
    /// <param name="cancellationToken">Ends the run with <see cref="StopReason.Cancelled"/> and the progress so far.</param>
    public static FitResult Run(FitProblem problem, Action<FitProgress>? progress = null, TimeSpan? progressInterval = null, CancellationToken cancellationToken = default)
        => throw new NotImplementedException("the [engine] issue implements this");
}
