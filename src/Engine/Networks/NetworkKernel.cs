using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FitService.Engine.Autodiff;
using V = System.Runtime.Intrinsics.Vector256<double>;

namespace FitService.Engine.Networks;

/// <summary>
/// A network's loss and gradient, fused into one pass over a batch's points: for each 4-lane vector of points the forward
/// pass runs every layer in registers and a small scratch, then the backward pass runs the layers in reverse and adds into
/// one 4-lane accumulator per param. Nothing is allocated per step. The activations' and losses' derivatives are the
/// element rules of the autodiff core (<see cref="ReluRule"/>, <see cref="TanhRule"/>, <see cref="SigmoidRule"/>,
/// <see cref="SquareRule"/>, <see cref="AbsRule"/>, <see cref="BceWithLogitsRule"/>), never written here.
/// <para>
/// Determinism: a weighted sum runs over the inputs in order, then adds the bias; each accumulator sums its lanes in point
/// order, then the lanes are added as (l0 + l1) + (l2 + l3); no fused multiply-add. The numbers depend only on the input.
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

    private readonly V[] _weights;    // the params broadcast to 4 lanes
    private readonly V[] _sums;       // per unit: the pre-activation
    private readonly V[] _values;     // per unit: the activation (the inputs for layer 0)
    private readonly V[] _deltas;     // per unit: d(loss)/d(pre-activation)
    private readonly V[] _accumulators;

    /// <summary>Prepares the fit of <paramref name="network"/> to <paramref name="x"/> (n rows of <paramref name="features"/>, already standardized if asked) and <paramref name="y"/>.</summary>
    public NetworkKernel(NetworkSpec network, int features, double[] x, double[] y, LossSpec loss, int? batchSize, bool shuffle, ulong seed)
    {
        _widths = network.Widths(features);
        _activation = network.Activation;
        _loss = loss;
        _n = y.Length;
        _batch = Math.Min(batchSize ?? _n, _n);
        StepsPerEpoch = (_n + _batch - 1) / _batch;
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
        _accumulators = new V[count];
        _sums = new V[units];
        _values = new V[units];
        _deltas = new V[units];
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

    private double Pass(double[][] columns, double[] y, int start, int count, ReadOnlySpan<double> parameters, Span<double> gradient, bool backward) =>
        _activation switch
        {
            Activation.Relu => Pass<ReluRule>(columns, y, start, count, parameters, gradient, backward),
            Activation.Tanh => Pass<TanhRule>(columns, y, start, count, parameters, gradient, backward),
            _ => Pass<SigmoidRule>(columns, y, start, count, parameters, gradient, backward),
        };

    /// <summary>The mean loss over points [start, start + count) of the columns; with <paramref name="backward"/> its gradient too.</summary>
    private double Pass<TActivation>(double[][] columns, double[] y, int start, int count, ReadOnlySpan<double> parameters, Span<double> gradient, bool backward)
        where TActivation : IUnaryRule
    {
        for (var k = 0; k < parameters.Length; k++) _weights[k] = Vector256.Create(parameters[k]);
        if (backward) Array.Clear(_accumulators);
        var seed = Vector256.Create(1.0 / count);
        var lossSum = V.Zero;
        var end = start + count;
        for (var i = start; i < end; i += Lanes.Width)
        {
            var mask = Lanes.MaskAt(i - start, count);
            for (var f = 0; f < columns.Length; f++) _values[f] = Lanes.Load(columns[f], i) & mask;
            var z = Forward<TActivation>();
            var target = Lanes.Load(y, i) & mask;
            var (loss, slope) = PointLoss(z, target, seed);
            lossSum += loss & mask;
            if (backward) Backward<TActivation>(slope & mask);
        }
        if (backward)
            for (var k = 0; k < gradient.Length; k++) gradient[k] = Lanes.Sum(_accumulators[k]);
        return Lanes.Sum(lossSum) / count;
    }

    /// <summary>Every layer for the vector of points in the input units; returns the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private V Forward<TActivation>() where TActivation : IUnaryRule
    {
        var layers = _widths.Length - 1;
        for (var l = 0; l < layers; l++)
        {
            var (inputs, outputs) = (_widths[l], _widths[l + 1]);
            var (from, to) = (_unitOffset[l], _unitOffset[l + 1]);
            var w = _weightOffset[l];
            var bias = w + inputs * outputs;
            var hidden = l + 1 < layers;
            for (var o = 0; o < outputs; o++)
            {
                var row = w + o * inputs;
                var s = _weights[row] * _values[from];
                for (var i = 1; i < inputs; i++) s += _weights[row + i] * _values[from + i];
                s += _weights[bias + o];
                _sums[to + o] = s;
                _values[to + o] = hidden ? TActivation.Value(s) : s;
            }
        }
        return _values[_unitOffset[^1]];
    }

    /// <summary>Adds the gradient of the vector of points, given d(loss)/d(output) per point, into the accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Backward<TActivation>(V outputDelta) where TActivation : IUnaryRule
    {
        _deltas[_unitOffset[^1]] = outputDelta;
        for (var l = _widths.Length - 2; l >= 0; l--)
        {
            var (inputs, outputs) = (_widths[l], _widths[l + 1]);
            var (from, to) = (_unitOffset[l], _unitOffset[l + 1]);
            var w = _weightOffset[l];
            var bias = w + inputs * outputs;
            for (var o = 0; o < outputs; o++)
            {
                var d = _deltas[to + o];
                var row = w + o * inputs;
                for (var i = 0; i < inputs; i++) _accumulators[row + i] += d * _values[from + i];
                _accumulators[bias + o] += d;
            }
            if (l == 0) break;
            for (var i = 0; i < inputs; i++)
            {
                var back = _weights[w + i] * _deltas[to];
                for (var o = 1; o < outputs; o++) back += _weights[w + o * inputs + i] * _deltas[to + o];
                _deltas[from + i] = TActivation.Grad(back, _sums[from + i], _values[from + i]);
            }
        }
    }

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
