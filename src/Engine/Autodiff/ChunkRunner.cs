using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using V = System.Runtime.Intrinsics.Vector256<double>;

namespace FitService.Engine.Autodiff;

/// <summary>
/// Runs a pass over a big fit's points as <see cref="FusedKernel.Chunks"/> chunks with fixed bounds, on up to
/// a given number of threads, then adds the chunks' partial sums in chunk order. The bounds and the order of
/// the additions depend only on the number of points, and a chunk's sums depend only on its points and the
/// state, so the result is bit-identical whatever the number of threads and whichever thread ran which chunk.
/// <para>
/// The calling thread takes chunks too; helpers are queued on the thread pool and take chunks as they
/// arrive, so a busy pool only slows a pass down, never stalls it. An idle helper stays a moment for the next
/// pass (in a descent it comes within microseconds), which saves waking a new one. On a loaded machine a
/// helper may be descheduled in the middle of a chunk: once the caller has run out of chunks it waits about
/// two chunks' time, then computes the unfinished ones itself. Whoever finishes a chunk first publishes it
/// (the same bits either way); a late or stale result is dropped. Nothing is allocated per pass.
/// </para>
/// </summary>
internal sealed class ChunkRunner
{
    private const int Chunks = FusedKernel.Chunks;
    private const int Line = 16; // ints per 64-byte cache line: per-chunk flags one line apart, so threads on neighbouring chunks do not share one

    // How long an idle helper waits for the next pass before it goes back to the pool.
    private static readonly long Linger = Stopwatch.Frequency / 10_000; // 100 µs

    private readonly FusedKernel.ChunkLoop _forward;
    private readonly FusedKernel.ChunkLoop _backward;
    private readonly double[][] _vectors;
    private readonly int[] _bounds;        // chunk c covers the points [bounds[c], bounds[c + 1])
    private readonly int _stride;          // doubles of sums per chunk
    private readonly double[] _partials;   // chunk c's published sums at c · stride
    private readonly int[] _published;     // at c · Line: the pass in which chunk c's sums were published
    private readonly int[] _publishing;    // at c · Line: 1 while chunk c's sums are being published (a spin lock: a Lock may allocate when contended)
    private readonly double[] _scratch;    // the caller's sums of the chunk it is running (padded, as the helpers')
    private readonly Helper[] _helpers;
    private FusedKernel.ChunkLoop _loop;
    private int _pass;                     // counts the passes; a chunk's result is published only in its own pass
    private Counter _next;                 // the next chunk to take; ≥ Chunks when none is left
    private Counter _done;                 // chunks published in this pass
    private Exception? _failure;

    public ChunkRunner(FusedKernel.ChunkLoop forward, FusedKernel.ChunkLoop backward, double[][] vectors, int count,
        int stateSlots, int accumulators, int maxDegreeOfParallelism)
    {
        _forward = forward;
        _backward = backward;
        _loop = forward;
        _vectors = vectors;
        // Chunks start on whole vectors, so only the last one has a partial vector.
        var size = Lanes.Padded((count + Chunks - 1) / Chunks);
        _bounds = [.. Enumerable.Range(0, Chunks + 1).Select(c => (int)Math.Min(count, (long)c * size))];
        _stride = Math.Max(1, accumulators) * Lanes.Width;
        _partials = new double[Chunks * _stride];
        _published = new int[Chunks * Line];
        _publishing = new int[Chunks * Line];
        _scratch = Scratch(_stride);
        _helpers = [.. Enumerable.Range(0, Math.Min(maxDegreeOfParallelism, Chunks) - 1).Select(_ => new Helper(this))];
        State = new double[Math.Max(1, stateSlots) * Lanes.Width];
        Totals = new double[_stride];
        _next.Value = Chunks;
    }

    /// <summary>A counter alone on its cache line: both threads write it.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Counter
    {
        [FieldOffset(64)] public int Value;
    }

    /// <summary>A buffer for one chunk's sums, with a cache line of room after it.</summary>
    private static double[] Scratch(int stride) => new double[stride + 8];

    /// <summary>The scalars the chunk loops read (written by the kernel before each pass).</summary>
    public double[] State { get; }

    /// <summary>The sums of the last pass over all the points, one vector per accumulator.</summary>
    public double[] Totals { get; }

    /// <summary>Runs the forward (or, when <paramref name="backward"/>, the backward) pass over every chunk and fills <see cref="Totals"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first step of a fit: no tier-0 code, no waiting for tier-up
    public void Run(bool backward)
    {
        _loop = backward ? _backward : _forward;
        if (_helpers.Length == 0)
        {
            for (var c = 0; c < Chunks; c++) _loop(_vectors, State, _partials, c * _stride, _bounds[c], _bounds[c + 1]);
        }
        else
        {
            var pass = _pass + 1;
            Volatile.Write(ref _pass, pass);
            _done.Value = 0;
            Interlocked.Exchange(ref _next.Value, 0); // a full fence: publishes the loop, the state and the pass to the helpers
            foreach (var helper in _helpers) helper.Wake();
            var started = Stopwatch.GetTimestamp();
            var taken = TakeChunks(_scratch);
            var perChunk = taken > 0 ? (Stopwatch.GetTimestamp() - started) / taken : 0;
            WaitForTheLastChunks(pass, Math.Max(perChunk, Stopwatch.Frequency / 200_000)); // at least 5 µs
            if (Interlocked.Exchange(ref _failure, null) is { } failure) ExceptionDispatchInfo.Throw(failure);
        }
        AddInChunkOrder();
    }

    /// <summary>Runs chunks of the current pass until none is left; returns how many it ran.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int TakeChunks(double[] scratch)
    {
        var taken = 0;
        int c;
        while ((c = Interlocked.Increment(ref _next.Value) - 1) < Chunks)
        {
            Compute(c, Volatile.Read(ref _pass), scratch);
            taken++;
        }
        return taken;
    }

    /// <summary>Waits for the helpers' last chunks about two chunks' time, then computes those still unpublished.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WaitForTheLastChunks(int pass, long chunkTicks)
    {
        var since = Stopwatch.GetTimestamp();
        var spinner = new SpinWait();
        while (Volatile.Read(ref _done.Value) < Chunks)
        {
            if (Stopwatch.GetTimestamp() - since > 2 * chunkTicks)
            {
                for (var c = 0; c < Chunks; c++)
                    if (Volatile.Read(ref _published[c * Line]) != pass) Compute(c, pass, _scratch);
                return; // every chunk is published now, by the caller or a helper
            }
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Computes chunk <paramref name="c"/> into <paramref name="scratch"/> and publishes it, unless it is already published or its pass is over.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Compute(int c, int pass, double[] scratch)
    {
        try { _loop(_vectors, State, scratch, 0, _bounds[c], _bounds[c + 1]); }
        catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
        var spinner = new SpinWait();
        while (Interlocked.CompareExchange(ref _publishing[c * Line], 1, 0) != 0) spinner.SpinOnce(sleep1Threshold: -1);
        try
        {
            // The pass cannot end before chunk c is published, so a result that passes this check is of the current pass.
            if (Volatile.Read(ref _pass) != pass || _published[c * Line] == pass) return;
            Array.Copy(scratch, 0, _partials, c * _stride, _stride);
            Volatile.Write(ref _published[c * Line], pass);
            Interlocked.Increment(ref _done.Value);
        }
        finally
        {
            Volatile.Write(ref _publishing[c * Line], 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddInChunkOrder()
    {
        for (var a = 0; a < _stride; a += Lanes.Width)
        {
            var total = V.Zero;
            for (var c = 0; c < Chunks; c++) total += Lanes.Load(_partials, c * _stride + a);
            Lanes.Store(Totals, a, total);
        }
    }

    /// <summary>A thread-pool work item that takes chunks, pass after pass, until none has come for <see cref="Linger"/>.</summary>
    private sealed class Helper(ChunkRunner runner) : IThreadPoolWorkItem
    {
        private readonly double[] _scratch = Scratch(runner._stride);
        private int _queued; // 1 from Wake until the helper goes back to the pool

        public void Wake()
        {
            if (Interlocked.CompareExchange(ref _queued, 1, 0) == 0) ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute()
        {
            try
            {
                var idleSince = Stopwatch.GetTimestamp();
                var spinner = new SpinWait();
                while (Stopwatch.GetTimestamp() - idleSince < Linger)
                {
                    if (Volatile.Read(ref runner._next.Value) < Chunks && runner.TakeChunks(_scratch) > 0)
                    {
                        idleSince = Stopwatch.GetTimestamp();
                        spinner.Reset();
                    }
                    else spinner.SpinOnce(sleep1Threshold: -1);
                }
            }
            finally
            {
                Volatile.Write(ref _queued, 0);
            }
        }
    }
}
