using System.Collections.Concurrent;
using FitService.Api.Hosting;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;

namespace FitService.Api.Tests.Hosting;

/// <summary>
/// The console's queue (<see cref="QueuedSink"/>): no line is lost or reordered, whatever its capacity; a full queue
/// makes the logger wait; a line logged while the console's thread sleeps wakes it, without a stop to flush it.
/// </summary>
public sealed class QueuedSinkTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10_000)]
    public async Task EveryLineFromManyThreadsIsWrittenInEachThreadsOrder(int capacity)
    {
        var console = new RecordingSink();
        var sink = new QueuedSink(console, capacity);
        const int threads = 4, lines = 2_000;
        await Task.WhenAll(Enumerable.Range(0, threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < lines; i++) sink.Emit(Line(t, i));
        })));
        sink.Dispose();

        Assert.True(console.Disposed);
        var written = console.Lines.ToArray();
        Assert.Equal(threads * lines, written.Length);
        foreach (var t in Enumerable.Range(0, threads))
        {
            Assert.Equal(Enumerable.Range(0, lines), written.Where(w => w.Thread == t).Select(w => w.Line));
        }
    }

    [Fact]
    public void ALineLoggedWhileTheThreadSleepsIsWrittenWithoutAStop()
    {
        var console = new RecordingSink();
        using var sink = new QueuedSink(console, 10);
        // One line at a time, each waited for: the thread goes idle between them again and again, at every point of its
        // loop. A wake-up lost once leaves a line unwritten until the stop, and this waits for it in vain.
        for (var i = 0; i < 300; i++)
        {
            sink.Emit(Line(0, i));
            Assert.True(SpinWait.SpinUntil(() => console.Lines.Count == i + 1, Patience), $"line {i} was not written");
        }
    }

    [Fact]
    public async Task AFullQueueMakesTheLoggerWaitRatherThanDropALine()
    {
        var console = new RecordingSink();
        using var gate = new ManualResetEventSlim(false);
        console.Gate = gate;
        var sink = new QueuedSink(console, 2);
        var returned = 0;
        var logging = Task.Run(() =>
        {
            for (var i = 0; i < 10; i++)
            {
                sink.Emit(Line(0, i));
                Interlocked.Increment(ref returned);
            }
        });
        // The console holds the first line at its gate, its room not given back until it is written; the second line
        // takes the last room; the third waits for room, and while the gate is shut nothing can give it any.
        Assert.True(SpinWait.SpinUntil(() => console.Entered == 1 && Volatile.Read(ref returned) == 2, Patience));
        Assert.False(logging.IsCompleted);
        Assert.Equal(2, Volatile.Read(ref returned));
        gate.Set();
        await logging.WaitAsync(Patience);
        sink.Dispose();
        Assert.Equal(Enumerable.Range(0, 10), console.Lines.Select(l => l.Line));
    }

    [Fact]
    public void ALineLoggedAfterTheStopIsStillWritten()
    {
        var console = new RecordingSink();
        var sink = new QueuedSink(console, 10);
        sink.Emit(Line(0, 0));
        sink.Dispose();
        sink.Emit(Line(0, 1));
        Assert.Equal([0, 1], console.Lines.Select(l => l.Line));
    }

    private static LogEvent Line(int thread, int line) => new(DateTimeOffset.UnixEpoch, LogEventLevel.Information, null,
        new MessageTemplateParser().Parse("{Thread} {Line}"),
        [new LogEventProperty("Thread", new ScalarValue(thread)), new LogEventProperty("Line", new ScalarValue(line))]);

    private sealed class RecordingSink : ILogEventSink, IDisposable
    {
        public ConcurrentQueue<(int Thread, int Line)> Lines { get; } = new();
        public ManualResetEventSlim? Gate { get; set; }
        private int _entered;
        public int Entered => Volatile.Read(ref _entered);
        public bool Disposed { get; private set; }

        public void Emit(LogEvent logEvent)
        {
            Interlocked.Increment(ref _entered);
            Gate?.Wait();
            Lines.Enqueue(((int)((ScalarValue)logEvent.Properties["Thread"]).Value!, (int)((ScalarValue)logEvent.Properties["Line"]).Value!));
        }

        public void Dispose() => Disposed = true;
    }
}
