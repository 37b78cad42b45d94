using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FitService.Engine.Autodiff;

/// <summary>
/// Helpers over <see cref="Vector256{T}"/> of doubles, the engine's one unit of arithmetic.
/// The width is fixed at 4 on every machine (unlike <c>Vector&lt;T&gt;</c>), so every sum is done in the
/// same order everywhere and results are bit-identical; no fused multiply-add is ever used.
/// </summary>
public static class Lanes
{
    /// <summary>Doubles per vector.</summary>
    public const int Width = 4;

    /// <summary>The length of a buffer holding <paramref name="count"/> values, rounded up to whole vectors.</summary>
    public static int Padded(int count) => (count + Width - 1) & ~(Width - 1);

    /// <summary>Loads 4 values from <paramref name="a"/> at <paramref name="i"/>; callers keep i + 4 within the (padded) array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Load(double[] a, int i) =>
        Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(a), (nuint)i);

    /// <summary>Stores 4 values into <paramref name="a"/> at <paramref name="i"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(double[] a, int i, Vector256<double> v) =>
        v.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(a), (nuint)i);

    /// <summary>All lanes 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Zero() => Vector256<double>.Zero;

    /// <summary>All 4 lanes set to <paramref name="s"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Broadcast(double s) => Vector256.Create(s);

    /// <summary>Lane-wise sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Add(Vector256<double> a, Vector256<double> b) => a + b;

    /// <summary>Lane-wise quotient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Divide(Vector256<double> a, Vector256<double> b) => a / b;

    /// <summary>Keeps the lanes where <paramref name="mask"/> is set, zeroes the others (padding lanes never reach a sum).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Masked(Vector256<double> v, Vector256<double> mask) => v & mask;

    /// <summary>The sum of the 4 lanes, always in the order (l0 + l1) + (l2 + l3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Sum(Vector256<double> v) =>
        (v.GetElement(0) + v.GetElement(1)) + (v.GetElement(2) + v.GetElement(3));

    /// <summary><see cref="Sum"/> broadcast to all lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> SumBroadcast(Vector256<double> v) => Vector256.Create(Sum(v));

    /// <summary>Lane 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double First(Vector256<double> v) => v.ToScalar();

    /// <summary>The mask of the vector starting at <paramref name="i"/> in an array of <paramref name="count"/> values: lanes past the end are off.</summary>
    public static Vector256<double> MaskAt(int i, int count)
    {
        var valid = count - i;
        if (valid >= Width) return Vector256<double>.AllBitsSet;
        return Vector256.Create(
            valid > 0 ? -1L : 0L, valid > 1 ? -1L : 0L, valid > 2 ? -1L : 0L, 0L).AsDouble();
    }

    /// <summary>Applies a scalar function lane by lane (transcendental functions, where <see cref="Math"/> is the reference).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Map(Vector256<double> a, Func<double, double> f) =>
        Vector256.Create(f(a.GetElement(0)), f(a.GetElement(1)), f(a.GetElement(2)), f(a.GetElement(3)));

    /// <summary>A copy of <paramref name="values"/> padded with zeros to whole vectors.</summary>
    public static double[] PaddedCopy(ReadOnlySpan<double> values)
    {
        var copy = new double[Math.Max(Width, Padded(values.Length))];
        values.CopyTo(copy);
        return copy;
    }
}
