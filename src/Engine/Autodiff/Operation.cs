using System.Reflection;
using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector256<double>;

namespace FitService.Engine.Autodiff;

/// <summary>What kind of node an operation makes.</summary>
public enum OperationKind
{
    /// <summary>A leaf: parameter, constant or data.</summary>
    Leaf,
    /// <summary>Element by element (with scalars broadcast).</summary>
    Elementwise,
    /// <summary>Vector to scalar.</summary>
    Reduction,
}

/// <summary>
/// An operation: its name, its element rule, and the plain whole-array forward and backward used by
/// <see cref="Tape"/> (micrograd's <c>_backward</c>: it adds into the inputs' gradients).
/// </summary>
public abstract class Operation
{
    private protected Operation(string name, OperationKind kind, bool differentiable = true)
    {
        Name = name;
        Kind = kind;
        IsDifferentiable = differentiable;
    }

    /// <summary>Short name, as in PyTorch.</summary>
    public string Name { get; }
    /// <summary>Leaf, element-wise or reduction.</summary>
    public OperationKind Kind { get; }
    /// <summary>False for comparisons: no gradient flows through.</summary>
    public bool IsDifferentiable { get; }
    /// <summary>The element rule type (an <see cref="IUnaryRule"/>, <see cref="IBinaryRule"/> or <see cref="ITernaryRule"/>), for element-wise operations.</summary>
    public virtual Type? Rule => null;
    /// <summary>The element rule's methods, for code generation; null for leaves and reductions.</summary>
    internal virtual RuleMethods? Methods => null;

    internal static readonly Operation Parameter = new LeafOperation("param");
    internal static readonly Operation Constant = new LeafOperation("const");
    internal static readonly Operation Points = new LeafOperation("points");
    internal static readonly Operation Sum = new Reduction("sum", mean: false);
    internal static readonly Operation Mean = new Reduction("mean", mean: true);
    internal static Operation Unary<TRule>(string name) where TRule : IUnaryRule => new UnaryOperation<TRule>(name);
    internal static Operation Binary<TRule>(string name, bool differentiable = true) where TRule : IBinaryRule => new BinaryOperation<TRule>(name, differentiable);
    internal static Operation Ternary<TRule>(string name) where TRule : ITernaryRule => new TernaryOperation<TRule>(name);

    /// <summary>Computes <paramref name="o"/>.Data from its inputs' data.</summary>
    internal abstract void Forward(Tensor o);
    /// <summary>Adds the contribution of <paramref name="o"/>.Grad to its inputs' gradients.</summary>
    internal abstract void Backward(Tensor o);

    private protected static V At(Tensor t, int i) => Lanes.Load(t.Data, t.IsVector ? i : 0);

    /// <summary>Adds the gradient contribution c for the vector at i of output o into input t (summing over the points when t is a scalar).</summary>
    private protected static void AddGrad(Tensor t, Tensor o, int i, V c, ref V scalarSum)
    {
        if (t.IsVector) Lanes.Store(t.Grad, i, Lanes.Load(t.Grad, i) + c);
        else scalarSum += Lanes.Masked(c, Lanes.MaskAt(i, o.Count));
    }

    private protected static void FinishGrad(Tensor t, V scalarSum)
    {
        if (!t.IsVector) Lanes.Store(t.Grad, 0, Lanes.Load(t.Grad, 0) + Lanes.SumBroadcast(scalarSum));
    }

    /// <summary>
    /// An element rule's <c>Value</c> and its gradient towards each input (<c>Grad</c>, or <c>GradA</c>, <c>GradB</c>, …),
    /// taken from delegates to the rule's own static methods, so the compiler calls what the interpreter calls.
    /// </summary>
    internal sealed record RuleMethods(MethodInfo Value, IReadOnlyList<MethodInfo> Grads);

    private sealed class LeafOperation(string name) : Operation(name, OperationKind.Leaf)
    {
        internal override void Forward(Tensor o) { }
        internal override void Backward(Tensor o) { }
    }

    internal sealed class Reduction(string name, bool mean) : Operation(name, OperationKind.Reduction)
    {
        public bool IsMean => mean;

        internal override void Forward(Tensor o)
        {
            var a = o.Inputs[0];
            var sum = V.Zero;
            for (var i = 0; i < a.Data.Length; i += Lanes.Width) sum += Lanes.Masked(Lanes.Load(a.Data, i), Lanes.MaskAt(i, a.Count));
            var total = Lanes.Sum(sum);
            Array.Fill(o.Data, mean ? total / a.Count : total);
        }

        internal override void Backward(Tensor o)
        {
            var a = o.Inputs[0];
            if (!a.RequiresGrad) return;
            var g = Lanes.Load(o.Grad, 0);
            if (mean) g /= Vector256.Create((double)a.Count);
            for (var i = 0; i < a.Data.Length; i += Lanes.Width) Lanes.Store(a.Grad, i, Lanes.Load(a.Grad, i) + g);
        }
    }

    private sealed class UnaryOperation<TRule>(string name) : Operation(name, OperationKind.Elementwise) where TRule : IUnaryRule
    {
        private static readonly RuleMethods Rules = new(new Func<V, V>(TRule.Value).Method, [new Func<V, V, V, V>(TRule.Grad).Method]);

        public override Type Rule => typeof(TRule);
        internal override RuleMethods Methods => Rules;

        internal override void Forward(Tensor o)
        {
            var a = o.Inputs[0];
            for (var i = 0; i < o.Data.Length; i += Lanes.Width) Lanes.Store(o.Data, i, TRule.Value(At(a, i)));
        }

        internal override void Backward(Tensor o)
        {
            var a = o.Inputs[0];
            if (!a.RequiresGrad) return;
            var sum = V.Zero;
            for (var i = 0; i < o.Data.Length; i += Lanes.Width)
                AddGrad(a, o, i, TRule.Grad(Lanes.Load(o.Grad, i), At(a, i), At(o, i)), ref sum);
            FinishGrad(a, sum);
        }
    }

    private sealed class BinaryOperation<TRule>(string name, bool differentiable) : Operation(name, OperationKind.Elementwise, differentiable) where TRule : IBinaryRule
    {
        private static readonly RuleMethods Rules = new(new Func<V, V, V>(TRule.Value).Method,
            [new Func<V, V, V, V, V>(TRule.GradA).Method, new Func<V, V, V, V, V>(TRule.GradB).Method]);

        public override Type Rule => typeof(TRule);
        internal override RuleMethods Methods => Rules;

        internal override void Forward(Tensor o)
        {
            var (a, b) = (o.Inputs[0], o.Inputs[1]);
            for (var i = 0; i < o.Data.Length; i += Lanes.Width) Lanes.Store(o.Data, i, TRule.Value(At(a, i), At(b, i)));
        }

        internal override void Backward(Tensor o)
        {
            var (a, b) = (o.Inputs[0], o.Inputs[1]);
            V sumA = V.Zero, sumB = V.Zero;
            for (var i = 0; i < o.Data.Length; i += Lanes.Width)
            {
                var (g, va, vb, vo) = (Lanes.Load(o.Grad, i), At(a, i), At(b, i), At(o, i));
                if (a.RequiresGrad) AddGrad(a, o, i, TRule.GradA(g, va, vb, vo), ref sumA);
                if (b.RequiresGrad) AddGrad(b, o, i, TRule.GradB(g, va, vb, vo), ref sumB);
            }
            if (a.RequiresGrad) FinishGrad(a, sumA);
            if (b.RequiresGrad) FinishGrad(b, sumB);
        }
    }

    private sealed class TernaryOperation<TRule>(string name) : Operation(name, OperationKind.Elementwise) where TRule : ITernaryRule
    {
        private static readonly RuleMethods Rules = new(new Func<V, V, V, V>(TRule.Value).Method,
            [new Func<V, V, V, V, V, V>(TRule.GradA).Method, new Func<V, V, V, V, V, V>(TRule.GradB).Method, new Func<V, V, V, V, V, V>(TRule.GradC).Method]);

        public override Type Rule => typeof(TRule);
        internal override RuleMethods Methods => Rules;

        internal override void Forward(Tensor o)
        {
            var (a, b, c) = (o.Inputs[0], o.Inputs[1], o.Inputs[2]);
            for (var i = 0; i < o.Data.Length; i += Lanes.Width) Lanes.Store(o.Data, i, TRule.Value(At(a, i), At(b, i), At(c, i)));
        }

        internal override void Backward(Tensor o)
        {
            var (a, b, c) = (o.Inputs[0], o.Inputs[1], o.Inputs[2]);
            V sumA = V.Zero, sumB = V.Zero, sumC = V.Zero;
            for (var i = 0; i < o.Data.Length; i += Lanes.Width)
            {
                var (g, va, vb, vc, vo) = (Lanes.Load(o.Grad, i), At(a, i), At(b, i), At(c, i), At(o, i));
                if (a.RequiresGrad) AddGrad(a, o, i, TRule.GradA(g, va, vb, vc, vo), ref sumA);
                if (b.RequiresGrad) AddGrad(b, o, i, TRule.GradB(g, va, vb, vc, vo), ref sumB);
                if (c.RequiresGrad) AddGrad(c, o, i, TRule.GradC(g, va, vb, vc, vo), ref sumC);
            }
            if (a.RequiresGrad) FinishGrad(a, sumA);
            if (b.RequiresGrad) FinishGrad(b, sumB);
            if (c.RequiresGrad) FinishGrad(c, sumC);
        }
    }
}
