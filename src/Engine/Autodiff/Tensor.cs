namespace FitService.Engine.Autodiff;

/// <summary>
/// A node of the computation graph, micrograd's <c>Value</c> over whole vectors: either a scalar or a
/// vector with one value per point. Every operation creates a node that remembers its inputs and its
/// <see cref="Op"/>, whose element rule (see Rules.cs) gives the value and the backward contribution.
/// Scalars broadcast against vectors; reductions (<see cref="Sum"/>, <see cref="Mean"/>) turn a vector
/// into a scalar. Values and gradients live in buffers of whole 4-lane vectors (a scalar holds its value
/// in all 4 lanes), allocated by whoever evaluates the graph: <see cref="Tape"/> or <see cref="FusedKernel"/>.
/// </summary>
public sealed class Tensor
{
    private Tensor(Operation op, Tensor[] inputs, bool isVector, int count, bool requiresGrad)
    {
        Op = op;
        Inputs = inputs;
        IsVector = isVector;
        Count = count;
        RequiresGrad = requiresGrad;
    }

    /// <summary>The operation that made this node.</summary>
    public Operation Op { get; }
    /// <summary>The nodes this one was computed from.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }
    /// <summary>One value per point (true) or a single value (false).</summary>
    public bool IsVector { get; }
    /// <summary>Number of points of a vector; 1 for a scalar.</summary>
    public int Count { get; }
    /// <summary>Whether a gradient flows to this node (it depends on a parameter).</summary>
    public bool RequiresGrad { get; }

    /// <summary>The values, padded to whole vectors (set by the evaluator; leaves own theirs).</summary>
    public double[] Data { get; internal set; } = [];
    /// <summary>The gradient of the output with respect to this node, after <see cref="Tape.Backward"/>.</summary>
    public double[] Grad { get; internal set; } = [];

    /// <summary>The value of a scalar.</summary>
    public double Value => Data[0];

    /// <summary>A trainable scalar parameter.</summary>
    public static Tensor Parameter(double value = 0.0) => Scalar(Operation.Parameter, value, requiresGrad: true);

    /// <summary>A constant scalar (no gradient).</summary>
    public static Tensor Constant(double value) => Scalar(Operation.Constant, value, requiresGrad: false);

    /// <summary>Constant data, one value per point (no gradient).</summary>
    public static Tensor Points(ReadOnlySpan<double> values)
    {
        if (values.Length == 0) throw new ArgumentException("a vector needs at least one point", nameof(values));
        return new Tensor(Operation.Points, [], isVector: true, values.Length, requiresGrad: false) { Data = Lanes.PaddedCopy(values) };
    }

    /// <summary>Sets the value of a scalar leaf (a parameter or constant).</summary>
    public void SetValue(double value)
    {
        if (IsVector || Inputs.Count > 0) throw new InvalidOperationException("only scalar leaves have a settable value");
        Array.Fill(Data, value);
    }

    private static Tensor Scalar(Operation op, double value, bool requiresGrad) =>
        new(op, [], isVector: false, 1, requiresGrad) { Data = [value, value, value, value], Grad = requiresGrad ? new double[Lanes.Width] : [] };

    internal static Tensor Apply(Operation op, params Tensor[] inputs)
    {
        var count = 1;
        var isVector = false;
        foreach (var input in inputs)
        {
            if (!input.IsVector) continue;
            if (isVector && input.Count != count)
                throw new ArgumentException($"vectors of {count} and {input.Count} points cannot be combined");
            isVector = true;
            count = input.Count;
        }
        var requiresGrad = op.IsDifferentiable && inputs.Any(i => i.RequiresGrad);
        return new Tensor(op, inputs, isVector, count, requiresGrad);
    }

#pragma warning disable CS1591 // operators and functions named as in PyTorch
    public static Tensor operator +(Tensor a, Tensor b) => Apply(Operation.Binary<AddRule>("add"), a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Apply(Operation.Binary<SubRule>("sub"), a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Apply(Operation.Binary<MulRule>("mul"), a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Apply(Operation.Binary<DivRule>("div"), a, b);
    public static Tensor operator -(Tensor a) => Apply(Operation.Unary<NegRule>("neg"), a);
    public static Tensor operator +(Tensor a, double b) => a + Constant(b);
    public static Tensor operator +(double a, Tensor b) => Constant(a) + b;
    public static Tensor operator -(Tensor a, double b) => a - Constant(b);
    public static Tensor operator -(double a, Tensor b) => Constant(a) - b;
    public static Tensor operator *(Tensor a, double b) => a * Constant(b);
    public static Tensor operator *(double a, Tensor b) => Constant(a) * b;
    public static Tensor operator /(Tensor a, double b) => a / Constant(b);
    public static Tensor operator /(double a, Tensor b) => Constant(a) / b;

    public Tensor Abs() => Apply(Operation.Unary<AbsRule>("abs"), this);
    public Tensor Sign() => Apply(Operation.Unary<SignRule>("sign"), this);
    public Tensor Square() => Apply(Operation.Unary<SquareRule>("square"), this);
    public Tensor Exp() => Apply(Operation.Unary<ExpRule>("exp"), this);
    public Tensor Log() => Apply(Operation.Unary<LogRule>("log"), this);
    public Tensor Sin() => Apply(Operation.Unary<SinRule>("sin"), this);
    public Tensor Cos() => Apply(Operation.Unary<CosRule>("cos"), this);
    public Tensor Tanh() => Apply(Operation.Unary<TanhRule>("tanh"), this);
    /// <summary>max(this, 0), as <c>torch.relu</c>.</summary>
    public Tensor Relu() => Apply(Operation.Unary<ReluRule>("relu"), this);
    /// <summary>1 / (1 + e^−this), as <c>torch.sigmoid</c>.</summary>
    public Tensor Sigmoid() => Apply(Operation.Unary<SigmoidRule>("sigmoid"), this);
    /// <summary>The larger of this and <paramref name="other"/>, as <c>torch.maximum</c>.</summary>
    public Tensor Maximum(Tensor other) => Apply(Operation.Binary<MaxRule>("maximum"), this, other);
    /// <summary>Binary cross-entropy of this (logits) against <paramref name="target"/>, per point, as <c>binary_cross_entropy_with_logits</c>.</summary>
    public Tensor BceWithLogits(Tensor target) => Apply(Operation.Binary<BceWithLogitsRule>("bce"), this, target);
    /// <summary>this^n for an integer n (as <c>torch.pow</c> with an integer exponent).</summary>
    public Tensor Pow(int n) => Apply(Operation.Binary<PowRule>("pow"), this, Constant(n));
    /// <summary>1 where this &lt; other, else 0 (no gradient).</summary>
    public Tensor LessThan(Tensor other) => Apply(Operation.Binary<LessRule>("lt", differentiable: false), this, other);
    public Tensor LessThan(double other) => LessThan(Constant(other));
    /// <summary>this clamped to [lo, hi]; gradient passes where lo ≤ this ≤ hi.</summary>
    public Tensor Clamp(double lo, double hi) => Apply(Operation.Ternary<ClampRule>("clamp"), this, Constant(lo), Constant(hi));
    /// <summary><paramref name="a"/> where <paramref name="condition"/> ≠ 0, else <paramref name="b"/>.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => Apply(Operation.Ternary<WhereRule>("where"), condition, a, b);
    /// <summary>The sum over the points.</summary>
    public Tensor Sum() => Reduce(Operation.Sum);
    /// <summary>The mean over the points (sum, then divided by the count, as PyTorch).</summary>
    public Tensor Mean() => Reduce(Operation.Mean);
#pragma warning restore CS1591

    private Tensor Reduce(Operation op)
    {
        if (!IsVector) throw new InvalidOperationException($"{op.Name} reduces a vector; this is a scalar");
        return new Tensor(op, [this], isVector: false, 1, RequiresGrad);
    }

    /// <summary>This node and all it depends on, inputs before the nodes that use them (computed once, replayed every step).</summary>
    public IReadOnlyList<Tensor> TopologicalOrder()
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor Node, int NextInput)>();
        stack.Push((this, 0));
        visited.Add(this);
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            if (next < node.Inputs.Count)
            {
                stack.Push((node, next + 1));
                var input = node.Inputs[next];
                if (visited.Add(input)) stack.Push((input, 0));
            }
            else order.Add(node);
        }
        return order;
    }

    /// <inheritdoc />
    public override string ToString() => IsVector ? $"{Op.Name}[{Count}]" : $"{Op.Name}({(Data.Length > 0 ? Data[0] : double.NaN)})";
}
