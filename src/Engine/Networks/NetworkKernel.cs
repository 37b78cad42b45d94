using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FitService.Engine.Autodiff;
using V = System.Runtime.Intrinsics.Vector256<double>;

namespace FitService.Engine.Networks;

/// <summary>
/// A network's loss and gradient, fused into one pass over a batch's points, a tile of 64 points at a time: the forward
/// pass runs every layer over the tile in a small scratch, then the backward pass runs the layers in reverse and adds the
/// tile's sum into one 4-lane accumulator per param. Nothing is allocated per step. The activations' and losses' derivatives are the
/// element rules of the autodiff core (<see cref="ReluRule"/>, <see cref="TanhRule"/>, <see cref="SigmoidRule"/>,
/// <see cref="SquareRule"/>, <see cref="AbsRule"/>, <see cref="BceWithLogitsRule"/>), never written here.
/// <para>
/// Determinism: a weighted sum runs over the inputs in order, then adds the bias; each accumulator sums its lanes in point
/// order within a tile and the tiles in order, then the lanes are added as (l0 + l1) + (l2 + l3); no fused multiply-add. The numbers depend only on the input.
/// </para>
/// <para>
/// Batches: step s is batch s mod B of epoch s / B, B = ⌈n / batch⌉; batch b holds positions [b·batch, min((b+1)·batch, n))
/// of the epoch's order (the points in order, or their shuffle drawn at the epoch's first step, see <see cref="NetworkRandom.Permutation"/>).
/// </para>
/// </summary>
internal sealed class NetworkKernel : IGradientSource
{
    private readonly int[] _widths;
    private readonly int[] _weightOffset;   // per Linear module: where its weight starts (its bias follows)
    private readonly int[] _unitOffset;     // per layer of units (input, hidden…, output): where its values start in the scratch
    private readonly Activation _activation;
    private readonly LossSpec _loss;
    private readonly int _n;
    private readonly int _batch;
    private readonly double[][] _columns;   // feature-major, in data order, zero-padded by a vector
    private readonly double[] _y;
    private readonly double[][] _epochColumns;
    private readonly double[] _epochY;
    private readonly int[]? _order;
    private readonly NetworkRandom? _shuffle;
    private int _shuffledEpoch = -1;

    // A pass goes over a batch in tiles of Tile vectors (64 points): a layer at a time over the tile, so a weight and a
    // gradient sum stay in registers over the tile's points instead of going through memory at every point.
    private const int Tile = 16;
    private const int TilePoints = Tile * Lanes.Width;
    private const int Group = 4;      // vectors computed side by side (independent sums in flight)

    // A batch of at least ParallelFrom points is split into Chunks fixed parts of whole tiles, each with its own scratch and
    // sums, added in chunk order: the same numbers whichever thread ran which chunk, and however many threads there are.
    private const int ParallelFrom = 4_096;
    private const int Chunks = 4;
    private const int MaxChunkedParams = 65_536; // a chunk's accumulators are 32 bytes a param: big networks run as one chunk

    private readonly bool _oneHidden; // one hidden layer: the fused path, the output's sums in registers
    private readonly V[] _weights;    // the params broadcast to 4 lanes
    private readonly Chunk[] _chunks;
    private readonly int _parallelism;
    private readonly Helper _helper;

    // The pass in progress, read by whichever thread runs a chunk (written before _next is reset).
    private double[][] _passColumns = [];
    private double[] _passY = [];
    private int _passStart, _passCount, _passSize, _passChunks;
    private bool _passBackward;
    private int _next, _done, _helperActive;
    private Exception? _failure;

    /// <summary>
    /// Prepares the fit of <paramref name="network"/> to <paramref name="x"/> (n rows of <paramref name="features"/>, already
    /// standardized if asked) and <paramref name="y"/> for <paramref name="loss"/>, in batches of <paramref name="batchSize"/>
    /// (null: all), shuffled every epoch by the stream of <paramref name="seed"/> when <paramref name="shuffle"/>; a pass may
    /// use <paramref name="maxDegreeOfParallelism"/> threads, the caller's included, which never changes a result.
    /// </summary>
    public NetworkKernel(NetworkSpec network, int features, double[] x, double[] y, LossSpec loss, int? batchSize, bool shuffle, ulong seed, int maxDegreeOfParallelism = 1)
    {
        _widths = network.Widths(features);
        _oneHidden = _widths.Length == 3;
        _activation = network.Activation;
        _loss = loss;
        _n = y.Length;
        _batch = Math.Min(batchSize ?? _n, _n);
        StepsPerEpoch = Network.StepsPerEpoch(_n, batchSize);
        _weightOffset = new int[_widths.Length - 1];
        for (int l = 0, offset = 0; l + 1 < _widths.Length; l++)
        {
            _weightOffset[l] = offset;
            offset += _widths[l] * _widths[l + 1] + _widths[l + 1];
        }
        _unitOffset = new int[_widths.Length];
        for (var l = 1; l < _widths.Length; l++) _unitOffset[l] = _unitOffset[l - 1] + _widths[l - 1];
        var units = _unitOffset[^1] + 1;
        _columns = new double[features][];
        for (var f = 0; f < features; f++)
        {
            var column = new double[_n + Lanes.Width];
            for (var i = 0; i < _n; i++) column[i] = x[i * features + f];
            _columns[f] = column;
        }
        _y = new double[_n + Lanes.Width];
        y.CopyTo(_y, 0);
        if (shuffle && StepsPerEpoch > 0)
        {
            _order = new int[_n];
            _shuffle = new NetworkRandom(seed ^ NetworkRandom.ShuffleStream);
            _epochColumns = [.. _columns.Select(c => new double[c.Length])];
            _epochY = new double[_y.Length];
        }
        else (_epochColumns, _epochY) = (_columns, _y);
        var count = network.ParameterCount(features);
        _weights = new V[count];
        var chunks = _batch >= ParallelFrom && count <= MaxChunkedParams ? Chunks : 1;
        _chunks = [.. Enumerable.Range(0, chunks).Select(_ => new Chunk(this, units, count))];
        _parallelism = Math.Max(1, maxDegreeOfParallelism);
        _helper = new Helper(this);
    }

    /// <inheritdoc />
    public int Count => _batch;

    /// <inheritdoc />
    public int StepsPerEpoch { get; }

    /// <inheritdoc />
    public int BatchPoints(int step)
    {
        var start = step % StepsPerEpoch * _batch;
        return Math.Min(_batch, _n - start);
    }

    /// <inheritdoc />
    public double Forward(ReadOnlySpan<double> parameters) => Pass(_columns, _y, 0, _n, parameters, default, backward: false);

    /// <inheritdoc />
    public double ForwardBackward(int step, ReadOnlySpan<double> parameters, Span<double> gradient)
    {
        var epoch = step / StepsPerEpoch;
        if (_shuffle is not null && epoch != _shuffledEpoch)
        {
            if (epoch != _shuffledEpoch + 1) throw new InvalidOperationException("the steps of a shuffled run must come in order");
            Shuffle();
            _shuffledEpoch = epoch;
        }
        var start = step % StepsPerEpoch * _batch;
        return Pass(_epochColumns, _epochY, start, Math.Min(_batch, _n - start), parameters, gradient, backward: true);
    }

    private void Shuffle()
    {
        _shuffle!.Permutation(_order!);
        for (var f = 0; f < _columns.Length; f++)
        {
            var (from, to) = (_columns[f], _epochColumns[f]);
            for (var i = 0; i < _n; i++) to[i] = from[_order![i]];
        }
        for (var i = 0; i < _n; i++) _epochY[i] = _y[_order![i]];
    }

    /// <summary>The mean loss over points [start, start + count) of the columns; with <paramref name="backward"/> its gradient too.</summary>
    private double Pass(double[][] columns, double[] y, int start, int count, ReadOnlySpan<double> parameters, Span<double> gradient, bool backward)
    {
        for (var k = 0; k < parameters.Length; k++) _weights[k] = Vector256.Create(parameters[k]);
        var chunks = count >= ParallelFrom ? _chunks.Length : 1;
        var size = chunks == 1 ? count : (count + chunks * TilePoints - 1) / (chunks * TilePoints) * TilePoints;
        (_passColumns, _passY, _passStart, _passCount, _passSize, _passChunks, _passBackward) = (columns, y, start, count, size, chunks, backward);
        RunChunks(chunks);
        var loss = _chunks[0].Loss;
        for (var c = 1; c < chunks; c++) loss += _chunks[c].Loss;
        if (backward)
            for (var k = 0; k < gradient.Length; k++)
            {
                var sum = _chunks[0].Accumulators[k];
                for (var c = 1; c < chunks; c++) sum += _chunks[c].Accumulators[k];
                gradient[k] = Lanes.Sum(sum);
            }
        return Lanes.Sum(loss) / count;
    }

    /// <summary>
    /// Runs the pass's chunks: on the calling thread alone, or with one helper from the thread pool that takes chunks as it
    /// comes (a helper late for this pass takes nothing, or joins the next one). Allocates nothing.
    /// </summary>
    private void RunChunks(int chunks)
    {
        if (chunks == 1 || _parallelism == 1)
        {
            for (var c = 0; c < chunks; c++) RunChunk(c);
            return;
        }
        _failure = null;
        Volatile.Write(ref _done, 0);
        Volatile.Write(ref _next, 0);
        if (Interlocked.CompareExchange(ref _helperActive, 1, 0) == 0) ThreadPool.UnsafeQueueUserWorkItem(_helper, preferLocal: false);
        TakeChunks();
        var wait = new SpinWait();
        while (Volatile.Read(ref _done) < chunks) wait.SpinOnce();
        if (_failure is { } failure) throw new InvalidOperationException("a chunk of the pass failed", failure);
    }

    private void TakeChunks()
    {
        int c;
        while ((c = Interlocked.Increment(ref _next) - 1) < Volatile.Read(ref _passChunks))
        {
            try { RunChunk(c); }
            catch (Exception e) { _failure ??= e; }
            finally { Interlocked.Increment(ref _done); }
        }
    }

    private void RunChunk(int c)
    {
        var from = _passStart + c * _passSize;
        var to = Math.Min(_passStart + _passCount, from + _passSize);
        var chunk = _chunks[c];
        switch (_activation)
        {
            case Activation.Relu: chunk.Pass<ReluRule>(_passColumns, _passY, from, to, _passStart, _passCount, _passBackward); break;
            case Activation.Tanh: chunk.Pass<TanhRule>(_passColumns, _passY, from, to, _passStart, _passCount, _passBackward); break;
            default: chunk.Pass<SigmoidRule>(_passColumns, _passY, from, to, _passStart, _passCount, _passBackward); break;
        }
    }

    /// <summary>The thread-pool work item of the helper (one per kernel, made once).</summary>
    private sealed class Helper(NetworkKernel kernel) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            try { kernel.TakeChunks(); }
            finally { Volatile.Write(ref kernel._helperActive, 0); }
        }
    }

    /// <summary>One chunk's scratch and sums; the layers' code runs on it.</summary>
    private sealed class Chunk(NetworkKernel kernel, int units, int parameters)
    {
        private readonly int[] _widths = kernel._widths;
        private readonly int[] _weightOffset = kernel._weightOffset;
        private readonly int[] _unitOffset = kernel._unitOffset;
        private readonly bool _oneHidden = kernel._oneHidden;
        private readonly LossSpec _loss = kernel._loss;
        private readonly V[] _weights = kernel._weights;
        private readonly V[] _sums = new V[units * Tile];     // per unit and vector of the tile (unit·Tile + t): the pre-activation
        private readonly V[] _values = new V[units * Tile];   // the same: the activation (the inputs for layer 0)
        private readonly V[] _deltas = new V[units * Tile];   // the same: d(loss)/d(pre-activation)

        /// <summary>Per param, the chunk's gradient sum (4 lanes).</summary>
        public V[] Accumulators { get; } = new V[parameters];

        /// <summary>The chunk's loss sum (4 lanes).</summary>
        public V Loss { get; private set; }

        /// <summary>The loss sum over points [from, to) of the batch [start, start + count); with <paramref name="backward"/> the gradient sums too.</summary>
        public void Pass<TActivation>(double[][] columns, double[] y, int from, int to, int start, int count, bool backward)
            where TActivation : IUnaryRule
        {
            if (backward) Array.Clear(Accumulators);
            var seed = Vector256.Create(1.0 / count);
            var lossSum = V.Zero;
            for (var tile = from; tile < to; tile += TilePoints)
            {
                // Whole groups of 4 vectors; the vectors past the batch hold zeros and get a zero delta, so they add nothing.
                var vectors = Math.Min(Tile, (to - tile + Lanes.Width - 1) / Lanes.Width);
                var groups = (vectors + Group - 1) / Group * Group;
                LoadTile(columns, tile, vectors, groups, start, count);
                if (_oneHidden) ForwardOneHidden<TActivation>(groups);
                else ForwardTile<TActivation>(groups);
                var output = _unitOffset[^1] * Tile;
                for (var t = 0; t < groups; t++)
                {
                    if (t >= vectors)
                    {
                        At(_deltas, output + t) = V.Zero;
                        continue;
                    }
                    var mask = Lanes.MaskAt(tile + t * Lanes.Width - start, count);
                    var (loss, slope) = PointLoss(At(_values, output + t), Lanes.Load(y, tile + t * Lanes.Width) & mask, seed);
                    lossSum += loss & mask;
                    At(_deltas, output + t) = slope & mask;
                }
                if (backward && _oneHidden) BackwardOneHidden<TActivation>(groups);
                else if (backward) BackwardTile<TActivation>(groups);
            }
            Loss = lossSum;
        }

        /// <summary>
        /// <see cref="ForwardTile"/> for one hidden layer (relu k, mlp [k]): unit by unit, four vectors at a time, the output's
        /// sums kept in registers, the hidden values stored for the backward pass unless it recomputes them. Same order of every sum.
        /// </summary>
        private void ForwardOneHidden<TActivation>(int groups) where TActivation : IUnaryRule
        {
            var (inputs, units) = (_widths[0], _widths[1]);
            var hiddenBias = inputs * units;
            var outputWeights = hiddenBias + units;
            var outputBias = At(_weights, outputWeights + units);
            var output = _unitOffset[^1] * Tile;
            var hidden = _unitOffset[1] * Tile;
            for (var t = 0; t < groups; t += Group)
            {
                V o0 = default, o1 = default, o2 = default, o3 = default;
                for (var j = 0; j < units; j++)
                {
                    var (h0, h1, h2, h3) = Hidden<TActivation>(j, inputs, hiddenBias, t, out var z0, out var z1, out var z2, out var z3);
                    if (!Recomputed<TActivation>())
                    {
                        ref var sums = ref At(_sums, hidden + j * Tile + t);
                        (sums, Unsafe.Add(ref sums, 1), Unsafe.Add(ref sums, 2), Unsafe.Add(ref sums, 3)) = (z0, z1, z2, z3);
                        ref var values = ref At(_values, hidden + j * Tile + t);
                        (values, Unsafe.Add(ref values, 1), Unsafe.Add(ref values, 2), Unsafe.Add(ref values, 3)) = (h0, h1, h2, h3);
                    }
                    var v = At(_weights, outputWeights + j);
                    if (j == 0) (o0, o1, o2, o3) = (v * h0, v * h1, v * h2, v * h3);
                    else (o0, o1, o2, o3) = (o0 + v * h0, o1 + v * h1, o2 + v * h2, o3 + v * h3);
                }
                ref var outputs = ref At(_values, output + t);
                (outputs, Unsafe.Add(ref outputs, 1), Unsafe.Add(ref outputs, 2), Unsafe.Add(ref outputs, 3)) = (o0 + outputBias, o1 + outputBias, o2 + outputBias, o3 + outputBias);
            }
        }

        /// <summary>
        /// <see cref="BackwardTile"/> for one hidden layer: four vectors at a time, unit by unit, its params'
        /// contributions of the four vectors summed as (c0 + c1) + (c2 + c3) and added to their accumulators.
        /// </summary>
        private void BackwardOneHidden<TActivation>(int groups) where TActivation : IUnaryRule
        {
            var (inputs, units) = (_widths[0], _widths[1]);
            var hiddenBias = inputs * units;
            var outputWeights = hiddenBias + units;
            var output = _unitOffset[^1] * Tile;
            var hidden = _unitOffset[1] * Tile;
            for (var t = 0; t < groups; t += Group)
            {
                ref var delta = ref At(_deltas, output + t);
                var (d0, d1, d2, d3) = (delta, Unsafe.Add(ref delta, 1), Unsafe.Add(ref delta, 2), Unsafe.Add(ref delta, 3));
                At(Accumulators, outputWeights + units) += (d0 + d1) + (d2 + d3);
                for (var j = 0; j < units; j++)
                {
                    V z0, z1, z2, z3, h0, h1, h2, h3;
                    if (Recomputed<TActivation>()) (h0, h1, h2, h3) = Hidden<TActivation>(j, inputs, hiddenBias, t, out z0, out z1, out z2, out z3);
                    else
                    {
                        ref var sums = ref At(_sums, hidden + j * Tile + t);
                        (z0, z1, z2, z3) = (sums, Unsafe.Add(ref sums, 1), Unsafe.Add(ref sums, 2), Unsafe.Add(ref sums, 3));
                        ref var values = ref At(_values, hidden + j * Tile + t);
                        (h0, h1, h2, h3) = (values, Unsafe.Add(ref values, 1), Unsafe.Add(ref values, 2), Unsafe.Add(ref values, 3));
                    }
                    var v = At(_weights, outputWeights + j);
                    At(Accumulators, outputWeights + j) += (d0 * h0 + d1 * h1) + (d2 * h2 + d3 * h3);
                    var e0 = TActivation.Grad(v * d0, z0, h0);
                    var e1 = TActivation.Grad(v * d1, z1, h1);
                    var e2 = TActivation.Grad(v * d2, z2, h2);
                    var e3 = TActivation.Grad(v * d3, z3, h3);
                    var row = j * inputs;
                    for (var i = 0; i < inputs; i++)
                    {
                        ref var x = ref At(_values, i * Tile + t);
                        At(Accumulators, row + i) += (e0 * x + e1 * Unsafe.Add(ref x, 1)) + (e2 * Unsafe.Add(ref x, 2) + e3 * Unsafe.Add(ref x, 3));
                    }
                    At(Accumulators, hiddenBias + j) += (e0 + e1) + (e2 + e3);
                }
            }
        }

        /// <summary>
        /// Whether the backward pass recomputes the hidden values (a ReLU costs less than storing and loading them) rather than
        /// reading what the forward pass stored (tanh and sigmoid, each a call per lane). A constant for each activation.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool Recomputed<TActivation>() where TActivation : IUnaryRule => typeof(TActivation) == typeof(ReluRule);

        /// <summary>Hidden unit j's pre-activations (out) and activations for the four vectors from t: weighted inputs in order, then the bias.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private (V, V, V, V) Hidden<TActivation>(int j, int inputs, int hiddenBias, int t, out V z0, out V z1, out V z2, out V z3) where TActivation : IUnaryRule
        {
            var row = j * inputs;
            var a = At(_weights, row);
            ref var x = ref At(_values, t);
            (z0, z1, z2, z3) = (a * x, a * Unsafe.Add(ref x, 1), a * Unsafe.Add(ref x, 2), a * Unsafe.Add(ref x, 3));
            for (var i = 1; i < inputs; i++)
            {
                a = At(_weights, row + i);
                x = ref At(_values, i * Tile + t);
                (z0, z1, z2, z3) = (z0 + a * x, z1 + a * Unsafe.Add(ref x, 1), z2 + a * Unsafe.Add(ref x, 2), z3 + a * Unsafe.Add(ref x, 3));
            }
            var b = At(_weights, hiddenBias + j);
            (z0, z1, z2, z3) = (z0 + b, z1 + b, z2 + b, z3 + b);
            return (TActivation.Value(z0), TActivation.Value(z1), TActivation.Value(z2), TActivation.Value(z3));
        }

        /// <summary>The inputs of a tile, feature by feature; lanes and vectors past the batch are 0 (so nothing non-finite can reach a sum).</summary>
        private void LoadTile(double[][] columns, int tile, int vectors, int groups, int start, int count)
        {
            for (var f = 0; f < columns.Length; f++)
            {
                var column = columns[f];
                for (var t = 0; t < groups; t++)
                {
                    var i = tile + t * Lanes.Width;
                    At(_values, f * Tile + t) = t < vectors ? Lanes.Load(column, i) & Lanes.MaskAt(i - start, count) : V.Zero;
                }
            }
        }

        /// <summary>
        /// Every layer for the tile's vectors of points: each unit's weighted inputs in order, then its bias. Four vectors at a
        /// time, so four independent sums are in flight (one per vector: each point's order is unchanged).
        /// </summary>
        private void ForwardTile<TActivation>(int groups) where TActivation : IUnaryRule
        {
            var layers = _widths.Length - 1;
            for (var l = 0; l < layers; l++)
            {
                var (inputs, outputs) = (_widths[l], _widths[l + 1]);
                var (from, to) = (_unitOffset[l] * Tile, _unitOffset[l + 1] * Tile);
                var w = _weightOffset[l];
                var hidden = l + 1 < layers;
                for (var o = 0; o < outputs; o++)
                {
                    var row = w + o * inputs;
                    var bias = At(_weights, w + inputs * outputs + o);
                    var first = At(_weights, row);
                    var unit = to + o * Tile;
                    for (var t = 0; t < groups; t += Group)
                    {
                        ref var v = ref At(_values, from + t);
                        var s0 = first * v;
                        var s1 = first * Unsafe.Add(ref v, 1);
                        var s2 = first * Unsafe.Add(ref v, 2);
                        var s3 = first * Unsafe.Add(ref v, 3);
                        for (var i = 1; i < inputs; i++)
                        {
                            var weight = At(_weights, row + i);
                            ref var u = ref At(_values, from + i * Tile + t);
                            s0 += weight * u;
                            s1 += weight * Unsafe.Add(ref u, 1);
                            s2 += weight * Unsafe.Add(ref u, 2);
                            s3 += weight * Unsafe.Add(ref u, 3);
                        }
                        (s0, s1, s2, s3) = (s0 + bias, s1 + bias, s2 + bias, s3 + bias);
                        ref var sums = ref At(_sums, unit + t);
                        (sums, Unsafe.Add(ref sums, 1), Unsafe.Add(ref sums, 2), Unsafe.Add(ref sums, 3)) = (s0, s1, s2, s3);
                        ref var values = ref At(_values, unit + t);
                        if (hidden) (s0, s1, s2, s3) = (TActivation.Value(s0), TActivation.Value(s1), TActivation.Value(s2), TActivation.Value(s3));
                        (values, Unsafe.Add(ref values, 1), Unsafe.Add(ref values, 2), Unsafe.Add(ref values, 3)) = (s0, s1, s2, s3);
                    }
                }
            }
        }

        /// <summary>
        /// The tile's gradient, given d(loss)/d(output) per point in the output unit's deltas: for each param, the tile's
        /// contributions summed (vector t into partial sum t mod 4, in order; then (p0 + p1) + (p2 + p3)) and added to its
        /// accumulator; the deltas passed back through the activations' rules, four vectors at a time.
        /// </summary>
        private void BackwardTile<TActivation>(int groups) where TActivation : IUnaryRule
        {
            for (var l = _widths.Length - 2; l >= 0; l--)
            {
                var (inputs, outputs) = (_widths[l], _widths[l + 1]);
                var (from, to) = (_unitOffset[l] * Tile, _unitOffset[l + 1] * Tile);
                var w = _weightOffset[l];
                var bias = w + inputs * outputs;
                for (var o = 0; o < outputs; o++)
                {
                    ref var delta = ref At(_deltas, to + o * Tile);
                    var row = w + o * inputs;
                    for (var i = 0; i < inputs; i++) At(Accumulators, row + i) += SumOfProducts(ref delta, ref At(_values, from + i * Tile), groups);
                    At(Accumulators, bias + o) += SumOf(ref delta, groups);
                }
                if (l == 0) break;
                for (var i = 0; i < inputs; i++)
                {
                    var input = from + i * Tile;
                    var first = At(_weights, w + i);
                    for (var t = 0; t < groups; t += Group)
                    {
                        ref var d = ref At(_deltas, to + t);
                        var b0 = first * d;
                        var b1 = first * Unsafe.Add(ref d, 1);
                        var b2 = first * Unsafe.Add(ref d, 2);
                        var b3 = first * Unsafe.Add(ref d, 3);
                        for (var o = 1; o < outputs; o++)
                        {
                            var weight = At(_weights, w + o * inputs + i);
                            ref var e = ref At(_deltas, to + o * Tile + t);
                            b0 += weight * e;
                            b1 += weight * Unsafe.Add(ref e, 1);
                            b2 += weight * Unsafe.Add(ref e, 2);
                            b3 += weight * Unsafe.Add(ref e, 3);
                        }
                        ref var sums = ref At(_sums, input + t);
                        ref var values = ref At(_values, input + t);
                        ref var back = ref At(_deltas, input + t);
                        back = TActivation.Grad(b0, sums, values);
                        Unsafe.Add(ref back, 1) = TActivation.Grad(b1, Unsafe.Add(ref sums, 1), Unsafe.Add(ref values, 1));
                        Unsafe.Add(ref back, 2) = TActivation.Grad(b2, Unsafe.Add(ref sums, 2), Unsafe.Add(ref values, 2));
                        Unsafe.Add(ref back, 3) = TActivation.Grad(b3, Unsafe.Add(ref sums, 3), Unsafe.Add(ref values, 3));
                    }
                }
            }
        }

        /// <summary>Σₜ a[t]·b[t] over whole groups of 4 vectors: partial sum k takes t ≡ k (mod 4) in order, then (p0 + p1) + (p2 + p3).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static V SumOfProducts(ref V a, ref V b, int groups)
        {
            var p0 = a * b;
            var p1 = Unsafe.Add(ref a, 1) * Unsafe.Add(ref b, 1);
            var p2 = Unsafe.Add(ref a, 2) * Unsafe.Add(ref b, 2);
            var p3 = Unsafe.Add(ref a, 3) * Unsafe.Add(ref b, 3);
            for (var t = Group; t < groups; t += Group)
            {
                p0 += Unsafe.Add(ref a, t) * Unsafe.Add(ref b, t);
                p1 += Unsafe.Add(ref a, t + 1) * Unsafe.Add(ref b, t + 1);
                p2 += Unsafe.Add(ref a, t + 2) * Unsafe.Add(ref b, t + 2);
                p3 += Unsafe.Add(ref a, t + 3) * Unsafe.Add(ref b, t + 3);
            }
            return (p0 + p1) + (p2 + p3);
        }

        /// <summary>Σₜ a[t] in the order of <see cref="SumOfProducts"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static V SumOf(ref V a, int groups)
        {
            var (p0, p1, p2, p3) = (a, Unsafe.Add(ref a, 1), Unsafe.Add(ref a, 2), Unsafe.Add(ref a, 3));
            for (var t = Group; t < groups; t += Group)
            {
                p0 += Unsafe.Add(ref a, t);
                p1 += Unsafe.Add(ref a, t + 1);
                p2 += Unsafe.Add(ref a, t + 2);
                p3 += Unsafe.Add(ref a, t + 3);
            }
            return (p0 + p1) + (p2 + p3);
        }

        /// <summary>Element <paramref name="i"/> of a scratch array, without a bounds check (the offsets are fixed by the widths at construction).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ref V At(V[] array, int i) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), i);

        /// <summary>The loss of each point and d(mean loss)/d(output), by the loss's element rules; <paramref name="seed"/> is 1/count.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private (V Loss, V Slope) PointLoss(V z, V y, V seed)
        {
            switch (_loss.Kind)
            {
                case LossKind.Mse:
                {
                    var r = z - y;
                    return (SquareRule.Value(r), SquareRule.Grad(seed, r, default));
                }
                case LossKind.Mae:
                {
                    var r = z - y;
                    return (AbsRule.Value(r), AbsRule.Grad(seed, r, default));
                }
                case LossKind.Bce:
                    return (BceWithLogitsRule.Value(z, y), BceWithLogitsRule.GradA(seed, z, y, default));
                default:
                {
                    // torch.nn.functional.huber_loss, as Losses.Huber builds it: ½r² where |r| < δ, else δ(|r| − ½δ).
                    var r = z - y;
                    var a = Vector256.Abs(r);
                    var delta = Vector256.Create(_loss.HuberDelta);
                    var half = Vector256.Create(0.5);
                    var inside = Vector256.LessThan(a, delta);
                    var loss = Vector256.ConditionalSelect(inside, half * SquareRule.Value(a), delta * (a - half * delta));
                    var slope = Vector256.ConditionalSelect(inside, half * SquareRule.Grad(seed, r, default), delta * AbsRule.Grad(seed, r, default));
                    return (loss, slope);
                }
            }
        }
    }
}
