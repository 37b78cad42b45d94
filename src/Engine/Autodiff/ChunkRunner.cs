using System.Diagnostics;
using System.Runtime.ExceptionServices;
using V = System.Runtime.Intrinsics.Vector256<double>;

namespace FitService.Engine.Autodiff;

/// <summary>
/// Runs a pass over a big fit's points as <see cref="FusedKernel.Chunks"/> chunks with fixed bounds, on up to
/// a given number of threads, then adds the chunks' partial sums in chunk order. The bounds and the order of
/// the additions depend only on the number of points, so the sums are bit-identical whatever the number of
/// threads and whichever thread ran which chunk.
/// <para>
/// The calling thread takes chunks too; helpers are queued on the thread pool and take chunks as they
/// arrive, so a busy pool only slows a pass down, never stalls it. A helper that arrives late finds no chunk
/// left, or helps with the next pass (it reads the state after the pass is published). A helper stays a
/// moment for the next pass (in a descent it comes within microseconds), which saves waking a new one;
/// the caller spins for the chunks still running, at most one per helper. Nothing is allocated per pass.
/// </para>
/// </summary>
internal sealed class ChunkRunner : IThreadPoolWorkItem
{
    private const int Chunks = FusedKernel.Chunks;

    private readonly FusedKernel.ChunkLoop _forward;
    private readonly FusedKernel.ChunkLoop _backward;
    private readonly double[][] _vectors;
    private readonly int[] _bounds; // chunk c covers the points [bounds[c], bounds[c + 1])
    private readonly int _stride;   // doubles of sums per chunk
    private readonly double[] _partials;
    private readonly int _helpers;
    private FusedKernel.ChunkLoop _loop;
    private int _next = Chunks; // the next chunk to take; ≥ Chunks when none is left
    private int _done;
    private int _active;        // helpers queued or working, not yet back in the pool
    private Exception? _failure;

    // How long an idle helper waits for the next pass before it goes back to the pool.
    private static readonly long Linger = Stopwatch.Frequency / 10_000; // 100 µs

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
        _stride = accumulators * Lanes.Width;
        _partials = new double[Chunks * _stride];
        _helpers = Math.Min(maxDegreeOfParallelism, Chunks) - 1;
        State = new double[Math.Max(1, stateSlots) * Lanes.Width];
        Totals = new double[Math.Max(1, accumulators) * Lanes.Width];
    }

    /// <summary>The scalars the chunk loops read (written by the kernel before each pass).</summary>
    public double[] State { get; }

    /// <summary>The sums of the last pass over all the points, one vector per accumulator.</summary>
    public double[] Totals { get; }

    /// <summary>Runs the forward (or, when <paramref name="backward"/>, the backward) pass over every chunk and fills <see cref="Totals"/>.</summary>
    public void Run(bool backward)
    {
        _loop = backward ? _backward : _forward;
        if (_helpers == 0)
        {
            for (var c = 0; c < Chunks; c++) RunChunk(c);
        }
        else
        {
            _done = 0;
            Interlocked.Exchange(ref _next, 0); // a full fence: publishes the loop, the state and the counters to the helpers
            while (Volatile.Read(ref _active) < _helpers)
            {
                Interlocked.Increment(ref _active);
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
            TakeChunks();
            var spinner = new SpinWait();
            while (Volatile.Read(ref _done) < Chunks) spinner.SpinOnce(sleep1Threshold: -1);
            if (Interlocked.Exchange(ref _failure, null) is { } failure) ExceptionDispatchInfo.Throw(failure);
        }
        AddInChunkOrder();
    }

    void IThreadPoolWorkItem.Execute()
    {
        try
        {
            var idleSince = Stopwatch.GetTimestamp();
            var spinner = new SpinWait();
            while (Stopwatch.GetTimestamp() - idleSince < Linger)
            {
                if (Volatile.Read(ref _next) < Chunks && TakeChunks())
                {
                    idleSince = Stopwatch.GetTimestamp();
                    spinner.Reset();
                }
                else spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    /// <summary>Runs chunks of the current pass until none is left; true if it ran any.</summary>
    private bool TakeChunks()
    {
        var took = false;
        int c;
        while ((c = Interlocked.Increment(ref _next) - 1) < Chunks)
        {
            try { RunChunk(c); }
            catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
            Interlocked.Increment(ref _done);
            took = true;
        }
        return took;
    }

    private void RunChunk(int c) => _loop(_vectors, State, _partials, c * _stride, _bounds[c], _bounds[c + 1]);

    private void AddInChunkOrder()
    {
        for (var a = 0; a < _stride; a += Lanes.Width)
        {
            var total = V.Zero;
            for (var c = 0; c < Chunks; c++) total += Lanes.Load(_partials, c * _stride + a);
            Lanes.Store(Totals, a, total);
        }
    }
}
