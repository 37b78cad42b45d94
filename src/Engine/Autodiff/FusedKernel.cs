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
/// Determinism: each accumulator sums its 4 lanes in point order, then the lanes are added in a fixed
/// order, and the last partial vector is masked; the result depends only on the input, not on the
/// machine (Vector256 has the same width everywhere, no FMA is used) or on timing (one thread).
/// </para>
/// </summary>
public sealed class FusedKernel
{
    /// <summary>The generated code: values of the vector leaves, of the scalar leaves, gradients out (per scalar leaf), point count; returns the loss.</summary>
    public delegate double Kernel(double[][] vectors, double[] scalars, double[] grads, int count);

    // Compiling costs ~10-50 ms and every fit of one degree and loss has the same structure, so the
    // generated code (a pure function of its arguments) is shared; bounded, thread-safe.
    private static readonly ConcurrentDictionary<string, Kernel> Cache = new();
    private const int MaxCached = 512;

    private readonly double[][] _vectors;
    private readonly double[] _scalars;
    private readonly double[] _grads;
    private readonly int[] _parameterSlots;
    private readonly Kernel _forward;
    private readonly Kernel _forwardBackward;

    /// <summary>Compiles <paramref name="loss"/> (a scalar) with respect to <paramref name="parameters"/> (scalar leaves).</summary>
    public FusedKernel(Tensor loss, IReadOnlyList<Tensor> parameters)
    {
        if (loss.IsVector) throw new ArgumentException("the loss must be a scalar", nameof(loss));
        var order = loss.TopologicalOrder();
        var leaves = new Leaves(order);
        _vectors = [.. leaves.Vectors.Select(n => n.Data)];
        _scalars = [.. leaves.Scalars.Select(n => n.Value)];
        _grads = new double[leaves.Scalars.Length];
        _parameterSlots = [.. parameters.Select(p => Array.IndexOf(leaves.Scalars, p))];
        Count = leaves.Vectors.Length > 0 ? leaves.Vectors[0].Count : 1;

        var key = StructureKey(order);
        _forward = Compile(key + "|f", order, loss, leaves, backward: false);
        _forwardBackward = Compile(key + "|fb", order, loss, leaves, backward: true);
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

    private static Kernel Compile(string key, IReadOnlyList<Tensor> order, Tensor loss, Leaves leaves, bool backward)
    {
        if (Cache.TryGetValue(key, out var cached)) return cached;
        var kernel = new Emitter(order, loss, leaves).Build(backward).Compile();
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
        }

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

        public Expression<Kernel> Build(bool backward)
        {
            backward &= _loss.RequiresGrad; // nothing to differentiate: the caller's gradient stays 0
            var code = new List<Expression>
            {
                Expression.Assign(_countV, Lane(LaneMethods.Broadcast, Expression.Convert(_count, typeof(double)))),
                // The mask of the last, partial vector, made before the loop: a call after it would make the JIT spill every register in it.
                Expression.Assign(_mask, Lane(LaneMethods.MaskAt, Expression.And(_count, Expression.Constant(~(Lanes.Width - 1))), _count)),
            };
            for (var k = 0; k < _leaves.Vectors.Length; k++)
                code.Add(Expression.Assign(_array[_leaves.Vectors[k]], Expression.ArrayIndex(_vectors, Expression.Constant(k))));
            for (var k = 0; k < _leaves.Scalars.Length; k++)
                code.Add(Expression.Assign(_value[_leaves.Scalars[k]], Lane(LaneMethods.Broadcast, Expression.ArrayIndex(_scalars, Expression.Constant(k)))));
            foreach (var node in _order.Where(n => _stage[n] == Stage.BeforeLoop && n.Op.Kind != OperationKind.Leaf))
                code.Add(Expression.Assign(_value[node], ValueOf(node)));
            foreach (var g in _grad.Values.Concat(_pointSum.Values)) code.Add(Expression.Assign(g, Zero));

            var lossIsTheOnlyReduction = _loss.Op.Kind == OperationKind.Reduction && _order.Count(n => _stage[n] == Stage.AfterLoop) == 1;
            if (!backward)
            {
                code.Add(Loop(backward: false));
                code.AddRange(AfterLoopForward());
            }
            else if (lossIsTheOnlyReduction)
            {
                code.Add(Expression.Assign(_grad[_loss], Lane(LaneMethods.Broadcast, Expression.Constant(1.0))));
                code.AddRange(Seeds());
                code.Add(Loop(backward: true));
                code.AddRange(AfterLoopForward());
            }
            else
            {
                code.Add(Loop(backward: false));
                code.AddRange(AfterLoopForward());
                code.AddRange(AfterLoopBackward());
                code.AddRange(Seeds());
                code.Add(Loop(backward: true));
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
            return Expression.Lambda<Kernel>(Expression.Block(typeof(double), _locals, code), _vectors, _scalars, _grads, _count);
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

        /// <summary>for (i = 0; i &lt; count &amp; ~3; i += 4) body; then the masked last partial vector.</summary>
        private Expression Loop(bool backward)
        {
            var code = new List<Expression>();
            foreach (var sum in _reductionSum.Values) code.Add(Expression.Assign(sum, Zero));
            var full = Expression.And(_count, Expression.Constant(~(Lanes.Width - 1)));
            var end = Expression.Label("end");
            code.Add(Expression.Assign(_i, Expression.Constant(0)));
            code.Add(Expression.Loop(
                Expression.IfThenElse(Expression.LessThan(_i, full),
                    Expression.Block(Body(masked: false, backward), Expression.AddAssign(_i, Expression.Constant(Lanes.Width))),
                    Expression.Break(end)),
                end));
            code.Add(Expression.IfThen(Expression.LessThan(_i, _count), Body(masked: true, backward)));
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
