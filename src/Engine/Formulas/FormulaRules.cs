using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FitService.Engine.Autodiff;
using V = System.Runtime.Intrinsics.Vector256<double>;

namespace FitService.Engine.Formulas;

// Element rules that formulas need beyond the polynomial's and the losses', with PyTorch's autograd formulas.

#pragma warning disable CS1591 // self-describing one-liners, as Rules.cs
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
#pragma warning restore CS1591

/// <summary>The formula operations on <see cref="Tensor"/> that the core does not name.</summary>
internal static class FormulaOperations
{
    public static Tensor Sqrt(this Tensor a) => Tensor.Apply(Operation.Unary<SqrtRule>("sqrt"), a);

    public static Tensor Power(this Tensor a, Tensor b) => Tensor.Apply(Operation.Binary<GeneralPowRule>("pow"), a, b);
}
