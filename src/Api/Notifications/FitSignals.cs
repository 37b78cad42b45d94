using System.Collections.Concurrent;
using System.Threading.Channels;

namespace FitService.Api.Notifications;

/// <summary>Something that happened to a running fit.</summary>
/// <param name="FitId">The fit.</param>
/// <param name="Ended">True for the end of the fit; false for progress.</param>
/// <param name="Step">Updates done.</param>
/// <param name="Loss">Latest recorded loss.</param>
/// <param name="Params">Parameters after <paramref name="Step"/> updates.</param>
public sealed record FitSignal(string FitId, bool Ended, int Step, double? Loss, double[]? Params);

/// <summary>
/// Tells waiting requests and streams that a fit progressed or ended, so nobody polls the store in a loop.
/// The in-process implementation serves one process; a shared-database deployment adds cross-process delivery.
/// </summary>
public interface IFitSignals
{
    /// <summary>A task that completes when the fit ends (register before reading the store, then check it).</summary>
    Task WhenEnded(string fitId);

    /// <summary>
    /// A reader found in the store that the fit has ended: completes this process's <see cref="WhenEnded"/> waiters of
    /// it (registered after its end was published, they would otherwise wait out their time, and linger).
    /// </summary>
    void EndedSeen(string fitId);

    /// <summary>Progress and end signals of one fit until <paramref name="ct"/> fires or the fit ends.</summary>
    IAsyncEnumerable<FitSignal> WatchAsync(string fitId, CancellationToken ct);

    void Publish(FitSignal signal);

    /// <summary>
    /// As <see cref="Publish"/>, but in this process only: the other processes heard of it already, from the store that
    /// stored the end (<see cref="Storage.IFitWork.AnnouncesEnds"/>).
    /// </summary>
    void PublishHere(FitSignal signal) => Publish(signal);
}

public sealed class InProcessFitSignals : IFitSignals
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _ended = new();
    private readonly ConcurrentDictionary<string, ImmutableSubscribers> _watchers = new();

    public Task WhenEnded(string fitId) =>
        _ended.GetOrAdd(fitId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Fits with a <see cref="WhenEnded"/> waiter not yet released.</summary>
    internal int EndWaiters => _ended.Count;

    public async IAsyncEnumerable<FitSignal> WatchAsync(string fitId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        // Progress arrives every ~250 ms; a slow reader only ever needs the latest, so old signals are dropped.
        var channel = Channel.CreateBounded<FitSignal>(new BoundedChannelOptions(4) { FullMode = BoundedChannelFullMode.DropOldest });
        _watchers.AddOrUpdate(fitId, _ => new ImmutableSubscribers([channel]), (_, s) => s.With(channel));
        try
        {
            await foreach (var signal in channel.Reader.ReadAllAsync(ct))
            {
                yield return signal;
                if (signal.Ended) yield break;
            }
        }
        finally
        {
            _watchers.AddOrUpdate(fitId, _ => new ImmutableSubscribers([]), (_, s) => s.Without(channel));
            _watchers.TryRemove(new KeyValuePair<string, ImmutableSubscribers>(fitId, ImmutableSubscribers.Empty));
        }
    }

    /// <summary>
    /// Wakes every <see cref="WhenEnded"/> waiter without an end: after signals may have been missed (a lost connection
    /// of a cross-process transport), waiters read the store again rather than sleep until their time is up.
    /// </summary>
    public void WakeWaiters()
    {
        foreach (var id in _ended.Keys)
        {
            if (_ended.TryRemove(id, out var waiter)) waiter.TrySetResult();
        }
    }

    public void EndedSeen(string fitId)
    {
        if (_ended.TryRemove(fitId, out var waiter)) waiter.TrySetResult();
    }

    public void Publish(FitSignal signal)
    {
        if (_watchers.TryGetValue(signal.FitId, out var subscribers))
        {
            foreach (var channel in subscribers.Channels) channel.Writer.TryWrite(signal);
        }
        if (signal.Ended && _ended.TryRemove(signal.FitId, out var waiter)) waiter.TrySetResult();
    }

    private sealed record ImmutableSubscribers(Channel<FitSignal>[] Channels)
    {
        public static readonly ImmutableSubscribers Empty = new([]);
        public ImmutableSubscribers With(Channel<FitSignal> c) => new([.. Channels, c]);
        public ImmutableSubscribers Without(Channel<FitSignal> c)
        {
            var rest = Channels.Where(x => x != c).ToArray();
            return rest.Length == 0 ? Empty : new(rest);
        }
    }
}
