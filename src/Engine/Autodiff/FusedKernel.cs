using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.Intrinsics;
using System.Text;
using V = System.Runtime.Intrinsics.Vector256<double>;

namespace FitService.Engine.Autodiff;

/// <summary>
/// The graph compiled into one loop over the points: for each 4-lane vector of points it computes every
/// element-wise node in registers, adds into the reductions, then runs the element rules' backward for
/// that vector and adds into the parameters' gradient accumulators. So one step reads x and y once and
/// writes nothing per point: memory O(N), no allocation. The loop is generated (System.Linq.Expressions)
/// from the same element rules the <see cref="Tape"/> uses, never written per loss.
/// <para>
/// Stages: scalars that depend only on leaves are computed before the loop; vectors in the loop;
/// scalars after a reduction after it. When the loss is itself a reduction its gradient (1) is known
/// before the loop and forward and backward share one pass; otherwise a forward pass computes the
/// reductions first and a second pass runs the backward. A vector may not depend on a reduction.
/// </para>
/// <para>
/// Big fits (at least <see cref="ChunkedFrom"/> points) run each pass over the points as <see cref="Chunks"/>
/// chunks with fixed bounds, on up to MaxDegreeOfParallelism threads (<see cref="ChunkRunner"/>); the
/// chunks' partial sums are added in chunk order. Smaller fits run the one loop on the calling thread.
/// </para>
/// <para>
/// Determinism: each accumulator sums its 4 lanes in point order (within a chunk, for big fits), the
/// chunks' sums are added in chunk order, then the lanes in a fixed order, and the last partial vector is
/// masked; the result depends only on the input, not on the machine (Vector256 has the same width
/// everywhere, no FMA is used), the number of threads or timing.
/// </para>
/// </summary>
public sealed class FusedKernel
{
    /// <summary>The generated code: values of the vector leaves, of the scalar leaves, gradients out (per scalar leaf), point count; returns the loss.</summary>
    public delegate double Kernel(double[][] vectors, double[] scalars, double[] grads, int count);

    /// <summary>
    /// From this many points on, a pass over the points runs as <see cref="Chunks"/> chunks that threads share.
    /// Below it a step (~50 µs at degree 2) is too short for a second thread to pay reliably on a 2-core machine
    /// (bench/Engine.Bench <c>parallel</c>, 11 runs on a loaded machine: 2 threads gave 0.8–1.6×, typically 1.2×, at
    /// 65,536 points; 0.9–1.6×, typically 1.4×, at 131,072; up to 1.8× at 262,144).
    /// </summary>
    public const int ChunkedFrom = 131_072;

    /// <summary>
    /// The number of chunks of a big fit: fixed, whatever the number of cores or threads, so that the sums (and
    /// so every number of the run) are too. 64 keeps up to 64 cores busy with little cost per chunk.
    /// </summary>
    public const int Chunks = 64;

    /// <summary>The code around the passes of a big fit: <paramref name="runLoop"/> runs a pass (true: backward), reading <paramref name="state"/>, leaving the sums in <paramref name="totals"/>.</summary>
    internal delegate double ChunkedKernel(double[] scalars, double[] grads, int count, double[] state, double[] totals, Action<bool> runLoop);

    /// <summary>The loop of one pass over points [start, end): reads the scalars it needs from <paramref name="state"/>, writes its sums to <paramref name="partials"/> at <paramref name="offset"/>.</summary>
    internal delegate void ChunkLoop(double[][] vectors, double[] state, double[] partials, int offset, int start, int end);

    // Compiling costs ~10-50 ms and every fit of one degree and loss has the same structure, so the
    // generated code (a pure function of its arguments) is shared; bounded, thread-safe.
    private static readonly ConcurrentDictionary<string, Delegate> Cache = new();
    private const int MaxCached = 512;

    private readonly double[][] _vectors;
    private readonly double[] _scalars;
    private readonly double[] _grads;
    private readonly int[] _parameterSlots;
    private readonly Kernel _forward;
    private readonly Kernel _forwardBackward;

    /// <summary>Compiles <paramref name="loss"/> (a scalar) with respect to <paramref name="parameters"/> (scalar leaves).</summary>
    /// <param name="loss">The loss.</param>
    /// <param name="parameters">The parameters, in the order of the gradient.</param>
    /// <param name="maxDegreeOfParallelism">Threads a pass over a big fit's points may use, the caller's included (default: one per core); never changes a result.</param>
    public FusedKernel(Tensor loss, IReadOnlyList<Tensor> parameters, int? maxDegreeOfParallelism = null)
        : this(loss, parameters, maxDegreeOfParallelism, ChunkedFrom)
    {
    }

    /// <summary>As the public constructor, with the threshold of chunking set (the benchmark compares both ways at one size).</summary>
    internal FusedKernel(Tensor loss, IReadOnlyList<Tensor> parameters, int? maxDegreeOfParallelism, int chunkedFrom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDegreeOfParallelism ?? 1, 1, nameof(maxDegreeOfParallelism));
        if (loss.IsVector) throw new ArgumentException("the loss must be a scalar", nameof(loss));
        var order = loss.TopologicalOrder();
        var leaves = new Leaves(order);
        _vectors = [.. leaves.Vectors.Select(n => n.Data)];
        _scalars = [.. leaves.Scalars.Select(n => n.Value)];
        _grads = new double[leaves.Scalars.Length];
        _parameterSlots = [.. parameters.Select(p => Array.IndexOf(leaves.Scalars, p))];
        Count = leaves.Vectors.Length > 0 ? leaves.Vectors[0].Count : 1;

        var key = StructureKey(order);
        Emitter NewEmitter() => new(order, loss, leaves);
        if (Count < chunkedFrom)
        {
            _forward = Compile(key + "|f", () => NewEmitter().Build(backward: false));
            _forwardBackward = Compile(key + "|fb", () => NewEmitter().Build(backward: true));
            return;
        }
        var layout = NewEmitter();
        var runner = new ChunkRunner(
            Compile(key + "|loop-f", () => NewEmitter().BuildChunkLoop(backward: false)),
            Compile(key + "|loop-b", () => NewEmitter().BuildChunkLoop(backward: true)),
            _vectors, Count, layout.StateSlots, layout.AccumulatorCount, maxDegreeOfParallelism ?? Environment.ProcessorCount);
        var forward = Compile(key + "|chunked-f", () => NewEmitter().BuildChunked(backward: false));
        var forwardBackward = Compile(key + "|chunked-fb", () => NewEmitter().BuildChunked(backward: true));
        Action<bool> run = runner.Run; // made once: a method group would allocate a delegate per step
        _forward = (_, scalars, grads, count) => forward(scalars, grads, count, runner.State, runner.Totals, run);
        _forwardBackward = (_, scalars, grads, count) => forwardBackward(scalars, grads, count, runner.State, runner.Totals, run);
    }

    /// <summary>Number of points.</summary>
    public int Count { get; }

    /// <summary>The loss at <paramref name="parameters"/>.</summary>
    public double Forward(ReadOnlySpan<double> parameters)
    {
        SetParameters(parameters);
        return _forward(_vectors, _scalars, _grads, Count);
    }

    /// <summary>The loss at <paramref name="parameters"/>; writes d(loss)/d(parameter) into <paramref name="gradient"/>.</summary>
    public double ForwardBackward(ReadOnlySpan<double> parameters, Span<double> gradient)
    {
        SetParameters(parameters);
        Array.Clear(_grads);
        var loss = _forwardBackward(_vectors, _scalars, _grads, Count);
        for (var k = 0; k < _parameterSlots.Length; k++)
            gradient[k] = _parameterSlots[k] >= 0 ? _grads[_parameterSlots[k]] : 0.0;
        return loss;
    }

    private void SetParameters(ReadOnlySpan<double> parameters)
    {
        for (var k = 0; k < _parameterSlots.Length; k++)
            if (_parameterSlots[k] >= 0) _scalars[_parameterSlots[k]] = parameters[k];
    }

    private static string StructureKey(IReadOnlyList<Tensor> order)
    {
        var index = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        var key = new StringBuilder();
        foreach (var node in order)
        {
            index[node] = index.Count;
            key.Append(node.Op.Rule?.FullName ?? node.Op.Name).Append(node.IsVector ? 'v' : 's').Append(node.RequiresGrad ? 'g' : '-').Append('(');
            foreach (var input in node.Inputs) key.Append(index[input]).Append(',');
            key.Append(')');
        }
        return key.ToString();
    }

    private static TDelegate Compile<TDelegate>(string key, Func<Expression<TDelegate>> build) where TDelegate : Delegate
    {
        if (Cache.TryGetValue(key, out var cached)) return (TDelegate)cached;
        var kernel = build().Compile();
        if (Cache.Count < MaxCached) Cache.TryAdd(key, kernel);
        return kernel;
    }

    private enum Stage { BeforeLoop, InLoop, AfterLoop }

    /// <summary>
    /// The leaves in topological order, computed once: the kernel reads vector leaf k from <c>vectors[k]</c> and
    /// scalar leaf k from <c>scalars[k]</c>, writes its gradient to <c>grads[k]</c>.
    /// </summary>
    private sealed class Leaves(IReadOnlyList<Tensor> order)
    {
        public Tensor[] Vectors { get; } = [.. order.Where(n => n.Op.Kind == OperationKind.Leaf && n.IsVector)];
        public Tensor[] Scalars { get; } = [.. order.Where(n => n.Op.Kind == OperationKind.Leaf && !n.IsVector)];
    }

    /// <summary>The <see cref="Lanes"/> methods the generated code calls, taken from delegates (no lookup by name).</summary>
    private static class LaneMethods
    {
        public static readonly MethodInfo Zero = new Func<V>(Lanes.Zero).Method;
        public static readonly MethodInfo Broadcast = new Func<double, V>(Lanes.Broadcast).Method;
        public static readonly MethodInfo Add = new Func<V, V, V>(Lanes.Add).Method;
        public static readonly MethodInfo Divide = new Func<V, V, V>(Lanes.Divide).Method;
        public static readonly MethodInfo Masked = new Func<V, V, V>(Lanes.Masked).Method;
        public static readonly MethodInfo MaskAt = new Func<int, int, V>(Lanes.MaskAt).Method;
        public static readonly MethodInfo SumBroadcast = new Func<V, V>(Lanes.SumBroadcast).Method;
        public static readonly MethodInfo First = new Func<V, double>(Lanes.First).Method;
        public static readonly MethodInfo Load = new Func<double[], int, V>(Lanes.Load).Method;
        public static readonly MethodInfo Store = new Action<double[], int, V>(Lanes.Store).Method;
    }

    /// <summary>Writes the expression tree of one kernel.</summary>
    private sealed class Emitter
    {
        private readonly IReadOnlyList<Tensor> _order;
        private readonly Tensor _loss;
        private readonly Leaves _leaves;
        private readonly Dictionary<Tensor, Stage> _stage = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Tensor, ParameterExpression> _value = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Tensor, ParameterExpression> _array = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Tensor, ParameterExpression> _grad = new(ReferenceEqualityComparer.Instance);      // scalars
        private readonly Dictionary<Tensor, ParameterExpression> _pointSum = new(ReferenceEqualityComparer.Instance);  // scalars fed by vectors: per-lane sums of contributions
        private readonly Dictionary<Tensor, ParameterExpression> _reductionSum = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Tensor, ParameterExpression> _reductionSeed = new(ReferenceEqualityComparer.Instance);
        private readonly List<ParameterExpression> _locals = [];
        // A big fit's chunk loops read the scalars computed before the loop, then the reductions' seeds, from the
        // state (one vector each, in this order), and write their sums in the order of the accumulators.
        private readonly List<ParameterExpression> _beforeLoopValues = [];
        private readonly List<ParameterExpression> _seeds = [];
        private readonly List<ParameterExpression> _accumulators = [];
        private readonly ParameterExpression _state = Expression.Parameter(typeof(double[]), "state");
        private readonly ParameterExpression _totals = Expression.Parameter(typeof(double[]), "totals");
        private readonly ParameterExpression _runLoop = Expression.Parameter(typeof(Action<bool>), "runLoop");
        private readonly ParameterExpression _partials = Expression.Parameter(typeof(double[]), "partials");
        private readonly ParameterExpression _offset = Expression.Parameter(typeof(int), "offset");
        private readonly ParameterExpression _start = Expression.Parameter(typeof(int), "start");
        private readonly ParameterExpression _end = Expression.Parameter(typeof(int), "end");
        private readonly ParameterExpression _vectors = Expression.Parameter(typeof(double[][]), "vectors");
        private readonly ParameterExpression _scalars = Expression.Parameter(typeof(double[]), "scalars");
        private readonly ParameterExpression _grads = Expression.Parameter(typeof(double[]), "grads");
        private readonly ParameterExpression _count = Expression.Parameter(typeof(int), "count");
        private readonly ParameterExpression _i;
        private readonly ParameterExpression _mask;
        private readonly ParameterExpression _countV;

        public Emitter(IReadOnlyList<Tensor> order, Tensor loss, Leaves leaves)
        {
            _order = order;
            _loss = loss;
            _leaves = leaves;
            foreach (var node in order)
            {
                _stage[node] = node.IsVector ? Stage.InLoop
                    : node.Op.Kind == OperationKind.Reduction || node.Inputs.Any(i => _stage[i] == Stage.AfterLoop) ? Stage.AfterLoop
                    : Stage.BeforeLoop;
                if (node.IsVector && node.Inputs.Any(i => _stage[i] == Stage.AfterLoop))
                    throw new NotSupportedException($"'{node.Op.Name}' uses a reduction inside a per-point expression; that needs a pass per reduction");
                _value[node] = Local($"v{_value.Count}_{node.Op.Name}");
                if (!node.IsVector && node.RequiresGrad) _grad[node] = Local($"g_{node.Op.Name}");
                if (node.Op.Kind == OperationKind.Reduction)
                {
                    _reductionSum[node] = Local($"sum_{node.Op.Name}");
                    _reductionSeed[node] = Local($"seed_{node.Op.Name}");
                }
            }
            foreach (var node in leaves.Vectors) _array[node] = Local($"a{_array.Count}", typeof(double[]));
            foreach (var node in order)
                foreach (var input in node.Inputs)
                    if (node.IsVector && !input.IsVector && input.RequiresGrad && !_pointSum.ContainsKey(input))
                        _pointSum[input] = Local($"ps_{input.Op.Name}");
            _i = Local("i", typeof(int));
            _mask = Local("mask");
            _countV = Local("countV");
            foreach (var node in order)
                if (_stage[node] == Stage.BeforeLoop) _beforeLoopValues.Add(_value[node]);
            foreach (var node in order)
                if (node.Op.Kind == OperationKind.Reduction && node.RequiresGrad) _seeds.Add(_reductionSeed[node]);
            foreach (var node in order)
                if (node.Op.Kind == OperationKind.Reduction) _accumulators.Add(_reductionSum[node]);
            _accumulators.AddRange(_pointSum.Values);
        }

        /// <summary>Vectors of state a big fit's chunk loops read.</summary>
        public int StateSlots => _beforeLoopValues.Count + _seeds.Count;

        /// <summary>Vectors of sums a big fit's chunk loop writes.</summary>
        public int AccumulatorCount => _accumulators.Count;

        /// <summary>What a pass's loop reads from the state: the values before the loop and, for the backward pass, the seeds.</summary>
        private IEnumerable<(ParameterExpression Local, int Slot)> Carried(bool backward) =>
            _beforeLoopValues.Concat(backward ? _seeds : []).Select((local, slot) => (local, slot));

        /// <summary>What a pass's loop sums: the reductions and, for the backward pass, the parameters' gradients.</summary>
        private IEnumerable<(ParameterExpression Local, int Index)> Summed(bool backward) =>
            _accumulators.Select((local, index) => (local, index)).Where(a => backward || _reductionSum.ContainsValue(a.local));

        private static Expression Slot(int index) => Expression.Constant(index * Lanes.Width);

        private ParameterExpression Local(string name, Type? type = null)
        {
            var local = Expression.Variable(type ?? typeof(V), name);
            _locals.Add(local);
            return local;
        }

        private static Expression Lane(MethodInfo method, params Expression[] args) => Expression.Call(method, args);
        private static Expression Add(Expression a, Expression b) => Lane(LaneMethods.Add, a, b);
        private static Expression Zero => Lane(LaneMethods.Zero); // a call, not a boxed constant (which would be unboxed at every use)

        private Expression[] InputValues(Tensor node) => [.. node.Inputs.Select(i => (Expression)_value[i])];

        private Expression ValueOf(Tensor node) => Expression.Call(node.Op.Methods!.Value, InputValues(node));

        private Expression GradOf(Tensor node, int input, Expression g) =>
            Expression.Call(node.Op.Methods!.Grads[input], [g, .. InputValues(node), _value[node]]);

        /// <summary>The whole step in one loop over all the points, on the calling thread.</summary>
        public Expression<Kernel> Build(bool backward)
        {
            var code = new List<Expression>
            {
                // The mask of the last, partial vector, made before the loop: a call after it would make the JIT spill every register in it.
                Expression.Assign(_mask, Lane(LaneMethods.MaskAt, Expression.And(_count, Expression.Constant(~(Lanes.Width - 1))), _count)),
            };
            code.AddRange(LoadArrays());
            code.AddRange(Step(backward, pass => Loop(pass, Expression.Constant(0), _count)));
            return Expression.Lambda<Kernel>(Expression.Block(typeof(double), [.. _locals], code), _vectors, _scalars, _grads, _count);
        }

        /// <summary>The step of a big fit: as <see cref="Build"/>, but each pass over the points is handed to the chunk runner.</summary>
        public Expression<ChunkedKernel> BuildChunked(bool backward)
        {
            var code = Step(backward, RunChunks);
            return Expression.Lambda<ChunkedKernel>(Expression.Block(typeof(double), [.. _locals], code), _scalars, _grads, _count, _state, _totals, _runLoop);
        }

        /// <summary>One pass's loop over the points [start, end) of a big fit, its sums written to the partials.</summary>
        public Expression<ChunkLoop> BuildChunkLoop(bool backward)
        {
            var code = new List<Expression>
            {
                // First, as in Build: a call after the vectors are loaded would make the JIT keep them on the stack.
                Expression.Assign(_mask, Lane(LaneMethods.MaskAt, Expression.And(_end, Expression.Constant(~(Lanes.Width - 1))), _end)),
            };
            code.AddRange(LoadArrays());
            foreach (var (local, slot) in Carried(backward)) code.Add(Expression.Assign(local, Lane(LaneMethods.Load, _state, Slot(slot))));
            if (backward) foreach (var sum in _pointSum.Values) code.Add(Expression.Assign(sum, Zero));
            code.Add(Loop(backward, _start, _end));
            foreach (var (local, index) in Summed(backward))
                code.Add(Lane(LaneMethods.Store, _partials, Expression.Add(_offset, Slot(index)), local));
            return Expression.Lambda<ChunkLoop>(Expression.Block(typeof(void), [.. _locals], code), _vectors, _state, _partials, _offset, _start, _end);
        }

        private IEnumerable<Expression> LoadArrays() =>
            _leaves.Vectors.Select((leaf, k) => Expression.Assign(_array[leaf], Expression.ArrayIndex(_vectors, Expression.Constant(k))));

        /// <summary>Hands the state to the runner, runs a pass on the chunks, takes the sums.</summary>
        private Expression RunChunks(bool backward)
        {
            var code = new List<Expression>();
            foreach (var (local, slot) in Carried(backward)) code.Add(Lane(LaneMethods.Store, _state, Slot(slot), local));
            code.Add(Expression.Invoke(_runLoop, Expression.Constant(backward)));
            foreach (var (local, index) in Summed(backward)) code.Add(Expression.Assign(local, Lane(LaneMethods.Load, _totals, Slot(index))));
            return Expression.Block(code);
        }

        /// <summary>The step around its passes over the points (<paramref name="loop"/>: true for the backward pass).</summary>
        private List<Expression> Step(bool backward, Func<bool, Expression> loop)
        {
            backward &= _loss.RequiresGrad; // nothing to differentiate: the caller's gradient stays 0
            var code = new List<Expression>
            {
                Expression.Assign(_countV, Lane(LaneMethods.Broadcast, Expression.Convert(_count, typeof(double)))),
            };
            for (var k = 0; k < _leaves.Scalars.Length; k++)
                code.Add(Expression.Assign(_value[_leaves.Scalars[k]], Lane(LaneMethods.Broadcast, Expression.ArrayIndex(_scalars, Expression.Constant(k)))));
            foreach (var node in _order.Where(n => _stage[n] == Stage.BeforeLoop && n.Op.Kind != OperationKind.Leaf))
                code.Add(Expression.Assign(_value[node], ValueOf(node)));
            foreach (var g in _grad.Values.Concat(_pointSum.Values)) code.Add(Expression.Assign(g, Zero));

            var lossIsTheOnlyReduction = _loss.Op.Kind == OperationKind.Reduction && _order.Count(n => _stage[n] == Stage.AfterLoop) == 1;
            if (!backward)
            {
                code.Add(loop(false));
                code.AddRange(AfterLoopForward());
            }
            else if (lossIsTheOnlyReduction)
            {
                code.Add(Expression.Assign(_grad[_loss], Lane(LaneMethods.Broadcast, Expression.Constant(1.0))));
                code.AddRange(Seeds());
                code.Add(loop(true));
                code.AddRange(AfterLoopForward());
            }
            else
            {
                code.Add(loop(false));
                code.AddRange(AfterLoopForward());
                code.AddRange(AfterLoopBackward());
                code.AddRange(Seeds());
                code.Add(loop(true));
            }
            if (backward)
            {
                foreach (var (node, sum) in _pointSum)
                    code.Add(Expression.Assign(_grad[node], Add(_grad[node], Lane(LaneMethods.SumBroadcast, sum))));
                code.AddRange(BackwardOfScalars(Stage.BeforeLoop));
                for (var k = 0; k < _leaves.Scalars.Length; k++)
                    if (_leaves.Scalars[k].RequiresGrad)
                        code.Add(Expression.Assign(Expression.ArrayAccess(_grads, Expression.Constant(k)), Lane(LaneMethods.First, _grad[_leaves.Scalars[k]])));
            }
            code.Add(Lane(LaneMethods.First, _value[_loss]));
            return code;
        }

        /// <summary>The per-point gradient each reduction hands to its input: its own gradient, over the count for a mean.</summary>
        private IEnumerable<Expression> Seeds() =>
            _reductionSeed.Where(r => r.Key.RequiresGrad).Select(r => Expression.Assign(r.Value,
                ((Operation.Reduction)r.Key.Op).IsMean ? Lane(LaneMethods.Divide, _grad[r.Key], _countV) : _grad[r.Key]));

        private IEnumerable<Expression> AfterLoopForward()
        {
            foreach (var node in _order.Where(n => _stage[n] == Stage.AfterLoop))
            {
                if (node.Op.Kind != OperationKind.Reduction) { yield return Expression.Assign(_value[node], ValueOf(node)); continue; }
                Expression total = Lane(LaneMethods.SumBroadcast, _reductionSum[node]);
                if (((Operation.Reduction)node.Op).IsMean) total = Lane(LaneMethods.Divide, total, _countV);
                yield return Expression.Assign(_value[node], total);
            }
        }

        private IEnumerable<Expression> AfterLoopBackward()
        {
            yield return Expression.Assign(_grad[_loss], Lane(LaneMethods.Broadcast, Expression.Constant(1.0)));
            foreach (var e in BackwardOfScalars(Stage.AfterLoop)) yield return e;
        }

        /// <summary>Backward of the scalar nodes of one stage, in reverse order; contributions to scalars just add (all lanes equal).</summary>
        private IEnumerable<Expression> BackwardOfScalars(Stage stage)
        {
            foreach (var node in _order.Reverse().Where(n => _stage[n] == stage && n.RequiresGrad && n.Op.Kind == OperationKind.Elementwise))
                for (var k = 0; k < node.Inputs.Count; k++)
                    if (node.Inputs[k].RequiresGrad)
                        yield return Expression.Assign(_grad[node.Inputs[k]], Add(_grad[node.Inputs[k]], GradOf(node, k, _grad[node])));
        }

        /// <summary>for (i = from; i &lt; to &amp; ~3; i += 4) body; then the masked last partial vector (from is a multiple of 4).</summary>
        private Expression Loop(bool backward, Expression from, Expression to)
        {
            var code = new List<Expression>();
            foreach (var sum in _reductionSum.Values) code.Add(Expression.Assign(sum, Zero));
            var full = Expression.And(to, Expression.Constant(~(Lanes.Width - 1)));
            var end = Expression.Label("end");
            code.Add(Expression.Assign(_i, from));
            code.Add(Expression.Loop(
                Expression.IfThenElse(Expression.LessThan(_i, full),
                    Expression.Block(Body(masked: false, backward), Expression.AddAssign(_i, Expression.Constant(Lanes.Width))),
                    Expression.Break(end)),
                end));
            code.Add(Expression.IfThen(Expression.LessThan(_i, to), Body(masked: true, backward)));
            return Expression.Block(code);
        }

        private Expression Body(bool masked, bool backward)
        {
            var code = new List<Expression>();
            Expression Mask(Expression e) => masked ? Lane(LaneMethods.Masked, e, _mask) : e;
            foreach (var (node, array) in _array) code.Add(Expression.Assign(_value[node], Lane(LaneMethods.Load, array, _i)));
            foreach (var node in _order.Where(n => _stage[n] == Stage.InLoop && n.Op.Kind == OperationKind.Elementwise))
                code.Add(Expression.Assign(_value[node], ValueOf(node)));
            foreach (var (node, sum) in _reductionSum)
                code.Add(Expression.Assign(sum, Add(sum, Mask(_value[node.Inputs[0]]))));
            if (!backward) return Expression.Block(code);

            // Per-point gradients are locals of this vector of points: the first contribution assigns, later ones add.
            var pointGrad = new Dictionary<Tensor, ParameterExpression>(ReferenceEqualityComparer.Instance);
            void Contribute(Tensor target, Expression c)
            {
                if (!target.IsVector) code.Add(Expression.Assign(_pointSum[target], Add(_pointSum[target], Mask(c))));
                else if (pointGrad.TryGetValue(target, out var g)) code.Add(Expression.Assign(g, Add(g, c)));
                else
                {
                    g = Local($"pg_{target.Op.Name}");
                    pointGrad[target] = g;
                    code.Add(Expression.Assign(g, c));
                }
            }
            foreach (var (node, seed) in _reductionSeed)
                if (node.RequiresGrad) Contribute(node.Inputs[0], seed);
            foreach (var node in _order.Reverse().Where(n => _stage[n] == Stage.InLoop && n.Op.Kind == OperationKind.Elementwise))
            {
                if (!pointGrad.TryGetValue(node, out var g)) continue;
                for (var k = 0; k < node.Inputs.Count; k++)
                    if (node.Inputs[k].RequiresGrad) Contribute(node.Inputs[k], GradOf(node, k, g));
            }
            return Expression.Block(code);
        }
    }
}
