using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector256<double>;

namespace FitService.Engine.Autodiff;

// The element rules: for each operation, its value and the contribution of the output gradient g to
// each input's gradient (the chain rule, micrograd's _backward). They are the only place where
// derivatives are written (the formulas' sqrt and general pow included); the interpreter (Tape) and the
// compiler (FusedKernel) both call them.
// Gradients match PyTorch's autograd formulas (e.g. abs' = sign, 0 at 0).

/// <summary>A one-input element rule.</summary>
public interface IUnaryRule
{
    /// <summary>The output.</summary>
    static abstract V Value(V a);
    /// <summary>The gradient reaching the input, given output gradient g, input a and output o.</summary>
    static abstract V Grad(V g, V a, V o);
}

/// <summary>A two-input element rule.</summary>
public interface IBinaryRule
{
    /// <summary>The output.</summary>
    static abstract V Value(V a, V b);
    /// <summary>The gradient reaching a.</summary>
    static abstract V GradA(V g, V a, V b, V o);
    /// <summary>The gradient reaching b.</summary>
    static abstract V GradB(V g, V a, V b, V o);
}

/// <summary>A three-input element rule.</summary>
public interface ITernaryRule
{
    /// <summary>The output.</summary>
    static abstract V Value(V a, V b, V c);
    /// <summary>The gradient reaching a.</summary>
    static abstract V GradA(V g, V a, V b, V c, V o);
    /// <summary>The gradient reaching b.</summary>
    static abstract V GradB(V g, V a, V b, V c, V o);
    /// <summary>The gradient reaching c.</summary>
    static abstract V GradC(V g, V a, V b, V c, V o);
}

#pragma warning disable CS1591 // the rules are self-describing one-liners
public readonly struct AddRule : IBinaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V a, V b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradA(V g, V a, V b, V o) => g;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradB(V g, V a, V b, V o) => g;
}

public readonly struct SubRule : IBinaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V a, V b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradA(V g, V a, V b, V o) => g;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradB(V g, V a, V b, V o) => -g;
}

public readonly struct MulRule : IBinaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V a, V b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradA(V g, V a, V b, V o) => g * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradB(V g, V a, V b, V o) => g * a;
}

public readonly struct DivRule : IBinaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V a, V b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradA(V g, V a, V b, V o) => g / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradB(V g, V a, V b, V o) => -g * a / (b * b);
}

/// <summary>a^b lane by lane with <see cref="Math.Pow"/>; used with a constant integer b.</summary>
public readonly struct PowRule : IBinaryRule
{
    public static V Value(V a, V b) => Vector256.Create(
        Math.Pow(a[0], b[0]), Math.Pow(a[1], b[1]), Math.Pow(a[2], b[2]), Math.Pow(a[3], b[3]));
    public static V GradA(V g, V a, V b, V o) => g * (b * Value(a, b - V.One));
    public static V GradB(V g, V a, V b, V o) => g * o * Lanes.Map(a, Math.Log);
}

/// <summary>1 where a &lt; b, else 0; not differentiable (gradient 0).</summary>
public readonly struct LessRule : IBinaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V a, V b) => Vector256.LessThan(a, b) & V.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradA(V g, V a, V b, V o) => V.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradB(V g, V a, V b, V o) => V.Zero;
}

public readonly struct NegRule : IUnaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Grad(V g, V a, V o) => -g;
}

public readonly struct AbsRule : IUnaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V a) => Vector256.Abs(a);
    // PyTorch: grad * sign(a), so 0 at a = 0.
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Grad(V g, V a, V o) => g * SignRule.Value(a);
}

public readonly struct SignRule : IUnaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Value(V a) => (Vector256.GreaterThan(a, V.Zero) & V.One) - (Vector256.LessThan(a, V.Zero) & V.One);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Grad(V g, V a, V o) => V.Zero;
}

public readonly struct SquareRule : IUnaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V a) => a * a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Grad(V g, V a, V o) => g * (a + a);
}

public readonly struct ExpRule : IUnaryRule
{
    public static V Value(V a) => Lanes.Map(a, Math.Exp);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Grad(V g, V a, V o) => g * o;
}

public readonly struct LogRule : IUnaryRule
{
    public static V Value(V a) => Lanes.Map(a, Math.Log);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Grad(V g, V a, V o) => g / a;
}

public readonly struct SinRule : IUnaryRule
{
    public static V Value(V a) => Lanes.Map(a, Math.Sin);
    public static V Grad(V g, V a, V o) => g * Lanes.Map(a, Math.Cos);
}

public readonly struct CosRule : IUnaryRule
{
    public static V Value(V a) => Lanes.Map(a, Math.Cos);
    public static V Grad(V g, V a, V o) => g * -Lanes.Map(a, Math.Sin);
}

public readonly struct TanhRule : IUnaryRule
{
    public static V Value(V a) => Lanes.Map(a, Math.Tanh);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Grad(V g, V a, V o) => g * (V.One - o * o);
}

/// <summary>a where c ≠ 0, else b.</summary>
public readonly struct WhereRule : ITernaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V c, V a, V b) => Vector256.ConditionalSelect(Vector256.Equals(c, V.Zero), b, a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradA(V g, V c, V a, V b, V o) => V.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradB(V g, V c, V a, V b, V o) => Vector256.ConditionalSelect(Vector256.Equals(c, V.Zero), V.Zero, g);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradC(V g, V c, V a, V b, V o) => Vector256.ConditionalSelect(Vector256.Equals(c, V.Zero), g, V.Zero);
}

/// <summary>a clamped to [lo, hi]; the gradient passes where lo ≤ a ≤ hi (PyTorch's clamp backward).</summary>
public readonly struct ClampRule : ITernaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Value(V a, V lo, V hi)
    {
        var low = Vector256.ConditionalSelect(Vector256.LessThan(a, lo), lo, a);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(low, hi), hi, low);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V GradA(V g, V a, V lo, V hi, V o) =>
        g & (Vector256.GreaterThanOrEqual(a, lo) & Vector256.LessThanOrEqual(a, hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradB(V g, V a, V lo, V hi, V o) => V.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradC(V g, V a, V lo, V hi, V o) => V.Zero;
}

/// <summary>√a; gradient g / (2·√a), as torch's sqrt backward.</summary>
public readonly struct SqrtRule : IUnaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V a) => Vector256.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Grad(V g, V a, V o) => g / (o + o);
}

/// <summary>
/// a^b for any a and b, as torch.pow(Tensor, Tensor): the gradient to a is 0 where b = 0, else g·b·a^(b−1);
/// the gradient to b is 0 where a = 0 and b ≥ 0, else g·a^b·log a.
/// </summary>
public readonly struct GeneralPowRule : IBinaryRule
{
    public static V Value(V a, V b) => Vector256.Create(
        Math.Pow(a[0], b[0]), Math.Pow(a[1], b[1]), Math.Pow(a[2], b[2]), Math.Pow(a[3], b[3]));

    public static V GradA(V g, V a, V b, V o) =>
        Vector256.ConditionalSelect(Vector256.Equals(b, V.Zero), V.Zero, g * (b * Value(a, b - V.One)));

    public static V GradB(V g, V a, V b, V o) =>
        Vector256.ConditionalSelect(Vector256.Equals(a, V.Zero) & Vector256.GreaterThanOrEqual(b, V.Zero), V.Zero, g * (o * Lanes.Map(a, Math.Log)));
}
/// <summary>max(a, 0), as <c>torch.relu</c>; the gradient passes where the output is &gt; 0 (PyTorch's threshold_backward: 0 at a = 0).</summary>
public readonly struct ReluRule : IUnaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V a) => Vector256.ConditionalSelect(Vector256.GreaterThan(a, V.Zero), a, V.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Grad(V g, V a, V o) => g & Vector256.GreaterThan(o, V.Zero);
}

/// <summary>1 / (1 + e^−a), as <c>torch.sigmoid</c>; gradient g·(1 − o)·o (PyTorch's sigmoid_backward).</summary>
public readonly struct SigmoidRule : IUnaryRule
{
    public static V Value(V a) => Lanes.Map(a, Sigmoid);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Grad(V g, V a, V o) => g * (V.One - o) * o;

    /// <summary>The scalar sigmoid, 1 / (1 + e^−a) (what predictions report as a probability).</summary>
    public static double Sigmoid(double a) => 1.0 / (1.0 + Math.Exp(-a));
}

/// <summary>
/// max(a, b), as <c>torch.maximum</c>: the gradient goes to the larger input, and is split in half between them where
/// a = b (PyTorch's rule for maximum).
/// </summary>
public readonly struct MaxRule : IBinaryRule
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V Value(V a, V b) => Vector256.ConditionalSelect(Vector256.LessThan(a, b), b, a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V GradA(V g, V a, V b, V o) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(a, b), g, Vector256.ConditionalSelect(Vector256.Equals(a, b), g * Vector256.Create(0.5), V.Zero));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V GradB(V g, V a, V b, V o) =>
        Vector256.ConditionalSelect(Vector256.LessThan(a, b), g, Vector256.ConditionalSelect(Vector256.Equals(a, b), g * Vector256.Create(0.5), V.Zero));
}

/// <summary>
/// Binary cross-entropy of logit z against target y, as <c>torch.nn.functional.binary_cross_entropy_with_logits</c>
/// (unreduced): max(z, 0) − z·y + log1p(e^−|z|). Gradient to z: g·(σ(z) − y), as PyTorch's backward; to y: −g·z.
/// </summary>
public readonly struct BceWithLogitsRule : IBinaryRule
{
    public static V Value(V z, V y) => Vector256.Create(Bce(z[0], y[0]), Bce(z[1], y[1]), Bce(z[2], y[2]), Bce(z[3], y[3]));
    public static V GradA(V g, V z, V y, V o) => g * (SigmoidRule.Value(z) - y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V GradB(V g, V z, V y, V o) => -g * z;

    /// <summary>The loss of one point.</summary>
    public static double Bce(double z, double y) => Math.Max(z, 0.0) - z * y + Log1p(Math.Exp(-Math.Abs(z)));

    /// <summary>
    /// log(1 + x) to a few ulps for x ≥ 0 (.NET has no log1p): log(u)·x/(u − 1) with u = 1 + x corrects the rounding of u
    /// (Goldberg, "What every computer scientist should know about floating-point arithmetic", theorem 4).
    /// </summary>
    public static double Log1p(double x)
    {
        var u = 1.0 + x;
        return u == 1.0 ? x : Math.Log(u) * x / (u - 1.0);
    }
}
#pragma warning restore CS1591
