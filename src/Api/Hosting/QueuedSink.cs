using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;

namespace FitService.Api.Hosting;

/// <summary>
/// Hands log events to another sink (the console) on a thread of its own, so that a request only queues its line and
/// never waits for the console's lock or for a slow reader of standard output. At most <c>capacity</c> events wait;
/// when that many do, the thread that logs wakes the console's thread and waits for room (no event is dropped).
/// Disposing writes every queued event, then disposes the sink it wraps.
/// </summary>
/// <remarks>
/// Waking a thread costs a context switch, and on this service's two cores those were the price of a background
/// console: Serilog.Sinks.Async, which this replaces, woke its thread for nearly every line (a request logs one, then
/// its queue is empty again), and spun and yielded before each sleep. At 3,000 requests/s that was 7 context switches
/// per request where writing on the request's thread took 4 (docs/throughput.md). So the thread wakes for a line only
/// when it was idle; while lines keep coming it takes them <see cref="BusyInterval"/> at a time, in one go each.
/// </remarks>
internal sealed class QueuedSink : ILogEventSink, IDisposable
{
    /// <summary>How long the console's thread lets lines gather while they keep coming: a line waits at most this long.</summary>
    public static readonly TimeSpan BusyInterval = TimeSpan.FromMilliseconds(10);

    private readonly ILogEventSink _inner;
    private readonly ConcurrentQueue<LogEvent> _queue = new();
    private readonly SemaphoreSlim _room;
    // Does not spin before it sleeps (SemaphoreSlim and BlockingCollection spin and yield each time they wait).
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private readonly Thread _thread;
    private volatile bool _stopping;
    private int _idle;
    private int _disposed;

    public QueuedSink(ILogEventSink inner, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _inner = inner;
        _room = new SemaphoreSlim(capacity, capacity);
        _thread = new Thread(Run) { IsBackground = true, Name = "Console log" };
        _thread.Start();
    }

    public void Emit(LogEvent logEvent)
    {
        if (_stopping)
        {
            // Logged while the sink stops (a host's last lines): written at once, on the thread that logs.
            lock (_inner) _inner.Emit(logEvent);
            return;
        }
        if (!_room.Wait(0))
        {
            _wake.Set();
            _room.Wait();
        }
        _queue.Enqueue(logEvent);
        // The enqueue is a full fence, as is the thread's write of _idle before it looks at the queue: one of the two sees the other.
        if (Volatile.Read(ref _idle) == 1) _wake.Set();
        // The sink stopped while this line waited for room or was queued: the thread may have taken its last look already.
        if (_stopping) Drain();
    }

    private void Run()
    {
        while (true)
        {
            var wrote = Drain();
            if (_stopping) return;
            _wake.Reset();
            if (wrote)
            {
                // Busy: let the next lines gather, unless the queue fills (or the sink stops) first.
                _wake.Wait(BusyInterval);
                continue;
            }
            Interlocked.Exchange(ref _idle, 1);
            if (_queue.IsEmpty && !_stopping) _wake.Wait();
            Interlocked.Exchange(ref _idle, 0);
        }
    }

    /// <summary>Writes what is queued; whether there was anything.</summary>
    private bool Drain()
    {
        var any = false;
        while (_queue.TryDequeue(out var logEvent))
        {
            any = true;
            try
            {
                lock (_inner) _inner.Emit(logEvent);
            }
            catch (Exception e)
            {
                // The console failed (a closed standard output): the line is lost, and the service goes on.
                Serilog.Debugging.SelfLog.WriteLine("The console sink failed: {0}", e);
            }
            finally
            {
                _room.Release();
            }
        }
        return any;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stopping = true;
        _wake.Set();
        _thread.Join();
        // A line queued between the thread's last look and the stop.
        Drain();
        (_inner as IDisposable)?.Dispose();
    }
}
